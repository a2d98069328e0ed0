"""Run ``python tools/...`` commands of a shell script in forks of one warm interpreter.

Each tool run in its own ``python`` process pays for importing torch, mmengine, mmdet, mmseg,
mmpretrain and open_clip again (about 8 s of CPU here); a chain of a dozen commands spends most of
its time there. :class:`ToolServer` starts one interpreter that imports them once and then, for each
command, forks a child that runs the script as ``__main__`` with the command's arguments, working
folder, environment and standard streams (passed over a Unix socket), and returns its exit status;
one command at a time, as a shell script runs them. The ``python`` that the scripts find on their
PATH is :data:`CLIENT`, which sends a ``tools/*.py`` command to the server and runs anything else
with the real interpreter. A child is a separate process, as a plain ``python`` would be: no state
leaks from one command to the next.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

SERVER = r'''
import json, os, runpy, socket, sys
import umg_mm, mmdet.models, mmseg.models, mmpretrain.models  # noqa: F401  (the warm imports)
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1])
server.listen()
print('ready', flush=True)
while True:
    conn, _ = server.accept()
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    pid = os.fork()
    if pid:  # one command at a time, as the shell runs them; its CPU time counts as ours
        conn.close()
        for fd in fds:
            os.close(fd)
        os.waitpid(pid, 0)
        continue
    server.close()
    request = json.loads(message)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    sys.stdin, sys.stdout, sys.stderr = (os.fdopen(0), os.fdopen(1, 'w', buffering=1),
                                         os.fdopen(2, 'w', buffering=1))
    os.chdir(request['cwd'])
    os.environ.clear()
    os.environ.update(request['env'])
    sys.argv = request['argv']
    sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
    code = 0
    try:
        runpy.run_path(sys.argv[0], run_name='__main__')
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    conn.sendall(str(code).encode())
    os._exit(code)
'''

CLIENT = r'''
import json, os, socket, sys
if len(sys.argv) < 2 or not (sys.argv[1].startswith('tools/') and sys.argv[1].endswith('.py')):
    os.execv(os.environ['TOOL_SERVER_PYTHON'], [os.environ['TOOL_SERVER_PYTHON']] + sys.argv[1:])
conn = socket.socket(socket.AF_UNIX)
conn.connect(os.environ['TOOL_SERVER_SOCKET'])
request = dict(argv=sys.argv[1:], cwd=os.getcwd(), env=dict(os.environ))
socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
status = conn.recv(16)
sys.exit(int(status) if status else 1)
'''


class ToolServer:
    """The warm interpreter and the ``python`` shim that routes ``tools/*.py`` to it.

    Args:
        folder: where the socket and the shim go; ``folder/bin`` is to be put first on PATH.
        env: the environment of the server (as the commands would get it).
    """

    def __init__(self, folder: Path, env: dict):
        self.socket = folder / 'tools.sock'
        bin_dir = folder / 'bin'
        bin_dir.mkdir(exist_ok=True)
        (folder / 'tool_client.py').write_text(CLIENT)
        shim = bin_dir / 'python'
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "{folder / "tool_client.py"}" '
                        f'"$@"\n')
        shim.chmod(0o755)
        self.bin_dir = bin_dir
        self.env = dict(env, TOOL_SERVER_SOCKET=str(self.socket),
                        TOOL_SERVER_PYTHON=sys.executable)
        self.process = subprocess.Popen([sys.executable, '-c', SERVER, str(self.socket)],
                                        env=self.env, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if line.strip() != 'ready':
            raise RuntimeError(f'the tool server did not start (got {line!r})')

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        deadline = time.time() + 5
        while self.socket.exists() and time.time() < deadline:
            self.socket.unlink()
