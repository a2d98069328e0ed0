"""tools/web_demo.py in a real browser: the server on 127.0.0.1 with tiny checkpoints the test
makes, headless Chromium (Debian's chromium + chromium-driver, through Selenium) uploads an image,
types a vocabulary in four scripts, runs; the legend and the picture the page shows are read back
and compared with the same request served in this process. A bad vocabulary shows its error.

``UMG_WEB_DEMO_SCREENSHOT=docs/web_demo.png`` also writes the page's screenshot there (the
README's)."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.test_apis.tiny_models import make_checkpoint, tiny_config, write_images
from umg_mm.apis.web_demo import WebDemo

webdriver = pytest.importorskip('selenium.webdriver', reason='pip install -e .[demo] (selenium)')
pytest.importorskip('gradio', reason='pip install -e .[demo]')
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which('chromium')
CHROMEDRIVER = shutil.which('chromedriver')
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason='needs Debian chromium and chromium-driver (tools/setup_env.sh installs them)')
VOCAB = '猫, кошка, قطة, sky, 草地'
STUFF = 'sky, 草地'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    """The web demo serving tiny panoptic and pretraining checkpoints; yields its URL and
    models."""
    folder = tmp_path_factory.mktemp('web_demo_server')
    models = {}
    for key, kind in (('panoptic', 'panoptic'), ('pretrain', 'pretrainer')):
        config = folder / f'{kind}.py'
        tiny_config(kind).dump(str(config))
        models[key] = (str(config), str(make_checkpoint(kind, folder / f'{kind}.pth')))
    port = free_port()
    command = [sys.executable, 'tools/web_demo.py', '--port', str(port), '--device', 'cpu',
               '--main-job', str(folder / 'no_main_job')]
    for key, (config, checkpoint) in models.items():
        command += [f'--{key}', config, checkpoint]
    log = open(folder / 'server.log', 'w')
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               env=dict(os.environ, GRADIO_ANALYTICS_ENABLED='False'))
    url = f'http://127.0.0.1:{port}/'
    deadline = time.time() + 180
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                process.kill()
                pytest.fail('the web demo did not start:\n' +
                            (folder / 'server.log').read_text()[-3000:])
            time.sleep(0.5)
    yield url, models
    process.terminate()
    process.wait(timeout=30)
    log.close()


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                 '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
                 '--window-size=1400,1000',
                 f'--user-data-dir={tmp_path_factory.mktemp("chromium_profile")}'):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def type_into(driver, elem_id: str, text: str) -> None:
    box = driver.find_element(By.CSS_SELECTOR, f'#{elem_id} textarea, #{elem_id} input')
    box.clear()
    box.send_keys(text)


def legend_rows(driver):
    rows = driver.find_elements(By.CSS_SELECTOR, '#umg-legend tr.umg-legend-row')
    return [(row.get_attribute('data-name'),
             row.find_element(By.CLASS_NAME, 'umg-legend-value').text) for row in rows]


def test_upload_vocabulary_in_four_scripts_legend_and_picture(server, browser, tmp_path):
    url, models = server
    path = write_images(tmp_path, 1, size=(48, 64))[0]
    image = cv2.imread(str(path))[..., ::-1].copy()
    expected = WebDemo(models, device='cpu', out_dir=str(tmp_path / 'expected'))(
        image, 'panoptic', VOCAB, STUFF)
    assert expected.ok and expected.legend

    browser.get(url)
    wait = WebDriverWait(browser, 120)
    upload = wait.until(EC.presence_of_element_located(
        (By.CSS_SELECTOR, '#umg-image input[type=file]')))
    upload.send_keys(str(path))
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, '#umg-image img')))
    type_into(browser, 'umg-vocabulary', VOCAB)
    type_into(browser, 'umg-stuff', STUFF)
    browser.find_element(By.ID, 'umg-run').click()
    wait.until(lambda d: legend_rows(d))

    shown = legend_rows(browser)
    assert shown == [(e['name'], f'{e["area"]} px ({100 * e["fraction"]:.1f}%)')
                     for e in expected.legend]
    assert {name for name, _ in shown} <= {'猫', 'кошка', 'قطة', 'sky', '草地'}
    source = browser.find_element(By.CSS_SELECTOR, '#umg-picture img').get_attribute('src')
    with urllib.request.urlopen(source, timeout=30) as response:
        picture = cv2.imdecode(np.frombuffer(response.read(), np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(picture[..., ::-1], expected.picture)
    assert browser.find_elements(By.CSS_SELECTOR, '#umg-json a')  # the JSON to download

    # another task, chosen in the page: the pretrained CLIP's training-free dense prediction
    dense = WebDemo(models, device='cpu', out_dir=str(tmp_path / 'expected'))(
        image, 'dense (training-free)', VOCAB)
    browser.find_element(By.CSS_SELECTOR, '#umg-task input').click()
    wait.until(EC.element_to_be_clickable(
        (By.XPATH, "//li[contains(., 'dense (training-free)')]"))).click()
    browser.find_element(By.ID, 'umg-run').click()
    wait.until(lambda d: 'dense' in d.find_element(By.ID, 'umg-status').text)
    assert legend_rows(browser) == [(e['name'], f'{e["area"]} px ({100 * e["fraction"]:.1f}%)')
                                    for e in dense.legend]
    browser.save_screenshot(str(tmp_path / 'web_demo.png'))
    if os.environ.get('UMG_WEB_DEMO_SCREENSHOT'):
        browser.save_screenshot(os.environ['UMG_WEB_DEMO_SCREENSHOT'])

    # a bad vocabulary: its error in the page, no traceback
    type_into(browser, 'umg-vocabulary', ' , ')
    browser.find_element(By.ID, 'umg-run').click()
    status = wait.until(lambda d: 'Error' in d.find_element(By.ID, 'umg-status').text
                        and d.find_element(By.ID, 'umg-status'))
    assert 'the vocabulary is empty' in status.text and 'Traceback' not in status.text
