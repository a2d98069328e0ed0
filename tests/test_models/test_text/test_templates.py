"""Prompt templates: exactly one empty ``{}`` slot, checked when they are loaded."""
import pytest

from umg_mm.models.text.templates import TEMPLATE_SETS, load_templates


@pytest.mark.parametrize('template, message', [
    ('a photo of a {name}.', r'named field\(s\) \{name\}'),
    ('a {0} photo.', r'named field\(s\) \{0\}'),
    ('a {} and a {}.', r'2 "\{\}" slots'),
    ('no slot here', r'0 "\{\}" slots'),
    ('a {} with a } brace', r'braces do not parse'),
])
def test_bad_templates_are_refused_at_load_with_the_reason(tmp_path, template, message):
    file = tmp_path / 'prompts.txt'
    file.write_text(f'a photo of a {{}}.\n{template}\n')
    with pytest.raises(ValueError, match=rf'template 2 of {file}.*{message}'):
        load_templates(str(file))
    with pytest.raises(ValueError, match=rf'template 1 of <list>.*{message}'):
        load_templates([template])


def test_good_templates_format_with_a_class_name():
    templates = load_templates(['a {} in {{braces}}.', 'a photo of a {}.'])
    assert [t.format('star') for t in templates] == ['a star in {braces}.', 'a photo of a star.']
    for name in TEMPLATE_SETS:  # the shipped sets pass the same check
        assert load_templates(list(TEMPLATE_SETS[name])) == TEMPLATE_SETS[name]
