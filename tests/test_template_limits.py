"""Template limits (docs/reports.md, "Template limits"): a user template that would build a huge
string, loop for ever or print gigabytes is refused at once with a ConfigError naming the
template file and line and the limit, never a worker eating the memory or the CPU.

Each case is an attack that, before the limits, built hundreds of megabytes or ran until killed.
"""

from __future__ import annotations

import time

import pytest

from daypulse.errors import ConfigError
from daypulse.report.render import render
from reportkit import sample_report

ATTACKS = {  # name: (the template's second line, words of the error)
    "str.center": ("{{ 'x'.center(10 ** 8) }}", "center() would make about 100,000,000 characters"),
    "center filter": ("{{ 'x' | center(10 ** 8) }}", "center would make about 100,000,000 characters"),
    "str.ljust": ("{{ 'x'.ljust(10 ** 8) }}", "ljust() would make about 100,000,000"),
    "str.rjust": ("{{ 'x'.rjust(10 ** 8) }}", "rjust() would make about 100,000,000"),
    "str.zfill": ("{{ '7'.zfill(10 ** 8) }}", "zfill() would make about 100,000,000"),
    "str.expandtabs": ("{{ ('\\t' * 1000).expandtabs(10 ** 5) }}", "expandtabs() would make about 100,001,000"),
    "format width": ("{{ '{:>100000000}'.format(1) }}", "format() would make about 100,000,"),
    "format precision": ("{{ '{:.100000000f}'.format(1.5) }}", "format() would make about 100,000,"),
    "nested format width": ("{{ '{:{}}'.format('x', 10 ** 8) }}", "format() would make about 100,000,"),
    "format_map width": ("{{ '{a:>100000000}'.format_map({'a': 1}) }}", "format() would make about 100,000,"),
    "% width": ("{{ '%100000000s' % 'x' }}", "% would make about 100,000,0"),
    "% precision": ("{{ '%.100000000f' % 1.5 }}", "% would make about 100,000,0"),
    "% star width": ("{{ '%*s' % (10 ** 8, 'x') }}", "% would make about 100,000,0"),
    "format filter width": ("{{ '%100000000s' | format('x') }}", "format would make about 100,000,0"),
    "str.replace": ("{{ ('x' * 10000).replace('x', 'y' * 10000) }}", "replace() would make about 100,000,000"),
    "replace filter": ("{{ ('x' * 10000) | replace('x', 'y' * 10000) }}", "replace would make about 100,000,000"),
    "indent": ("{{ ('a\\n' * 5000) | indent(10000) }}", "indent would make about 50,0"),
    "wordwrap": ("{{ ('x ' * 5000) | wordwrap(1, wrapstring='y' * 10000) }}", "wordwrap would make about"),
    "list repetition printed": ("{{ ['x' * 10000] * 10000 }}", "* would make about 100,0"),
    "list repetition joined": ("{{ (['x' * 5000] * 10000) | join }}", "* would make about 50,0"),
    "join with a long separator": ("{{ range(10000) | map('string') | join('y' * 10000) }}", "join would make about"),
    "~ doubling": ("{% set ns = namespace(s='x' * 10000) %}{% for i in range(14) %}{% set ns.s = ns.s ~ ns.s %}"
                   "{% endfor %}{{ ns.s | length }}", "~ would make about 1,280,000 characters"),
    "nested range loops": ("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
                           "loops ran more than 100,000 times in all"),
    "recursive loop": ("{% for x in range(10) recursive %}{% if loop.depth < 8 %}{{ loop(range(10)) }}{% endif %}"
                       "{% endfor %}", "loops ran more than 100,000 times in all"),
    "range": ("{{ range(50000) | list | length }}", "range() of 50,000 items: at most 10,000"),
    "huge output": ("{% for i in range(1000) %}{{ 'x' * 9000 }}{% endfor %}",
                    "the output is longer than 5,000,000 characters"),
    "huge captured block": ("{% set c %}{% for i in range(1000) %}{{ 'x' * 9000 }}{% endfor %}{% endset %}"
                            "{{ c | length }}", "the output is longer than 5,000,000 characters"),
    "batch filled": ("{{ [1] | batch(10 ** 7, 0) | list | length }}", "batch(10,000,000): at most 10,000"),
    "slice": ("{{ [1] | slice(10 ** 7) | list | length }}", "slice(10,000,000): at most 10,000"),
    "huge number": ("{{ (((10 ** 100) ** 100) ** 100) ** 100 > 0 }}", "a number of about 10,056 digits: at most 4,300"),
    "lipsum": ("{{ lipsum(10 ** 5) }}", "lipsum would make about"),
    "tojson indent": ("{{ [[[1]]] | tojson(indent=10 ** 8) }}", "tojson(indent=100,000,000): at most 16"),
}


def refused(tmp_path, source: str):
    (tmp_path / "report.txt.j2").write_text("line one\n" + source + "\n")
    started = time.monotonic()
    with pytest.raises(ConfigError) as err:
        render(sample_report(), "text", tmp_path)
    assert time.monotonic() - started < 3  # refused at once, not after the damage
    assert err.value.exit_code == 2 and err.value.__cause__ is None
    (issue,) = err.value.issues
    return issue


@pytest.mark.parametrize("source, words", ATTACKS.values(), ids=ATTACKS.keys())
def test_an_attack_is_refused_naming_the_template_line_and_limit(tmp_path, source, words):
    issue = refused(tmp_path, source)
    assert (issue.file, issue.line) == (str(tmp_path / "report.txt.j2"), 2), issue
    assert issue.message.startswith("template limit: ") and words in issue.message, issue.message
    assert issue.hint == 'see "Template limits" in docs/reports.md'


def test_a_slow_template_stops_at_the_time_limit(tmp_path, monkeypatch):
    from daypulse.report import sandbox

    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.3)
    # 2 ** 40 macro calls and no loop: only the clock stops it.
    source = "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}"
    issue = refused(tmp_path, source)
    assert issue.line == 2 and issue.message == "template limit: the rendering took longer than 0.3 seconds"


def test_an_imported_template_printed_whole_is_refused(tmp_path):
    # The module keeps 100 references to one long string: cheap, until it is printed.
    (tmp_path / "big.j2").write_text("{% set x = 'x'.ljust(1000000) %}{% for i in range(100) %}{{ x }}{% endfor %}")
    issue = refused(tmp_path, "{% import 'big.j2' as big %}{{ big }}")
    assert issue.line == 2 and "printing a value would make more than 1,000,000 characters" in issue.message


def test_a_template_file_over_a_megabyte_is_refused(tmp_path):
    (tmp_path / "report.txt.j2").write_text("{{ report.title }}\n" + "x" * 1_100_000)
    with pytest.raises(ConfigError) as err:
        render(sample_report(), "text", tmp_path)
    (issue,) = err.value.issues
    assert issue.file == str(tmp_path / "report.txt.j2")
    assert issue.message == ("template limit: the template has 1,100,019 characters; a template file may have at"
                             " most 1,000,000")


def test_what_stays_under_the_limits_renders_as_before(tmp_path):
    (tmp_path / "report.txt.j2").write_text(
        "{{ 'ab'.center(6) }}|{{ 'ab' | center(6) }}|{{ '7'.zfill(3) }}|{{ '{:>5}|{:.2f}'.format('a', 3.14159) }}|"
        "{{ '%4s|%.1f' % ('b', 2.5) }}|{{ 'a,b'.replace(',', ';') }}|{{ 'ab' | indent(2, true) }}|"
        "{{ ['x', 'y'] | join(', ') }}|{{ [1, 2, 3] | sum }}|{{ 'a' ~ 1 ~ [2] }}|{{ 'ab' * 2 }}|{{ [0] * 3 }}|"
        "{% for s in report.sections %}{{ loop.index }}/{{ loop.length }} {% endfor %}|"
        "{% for x in [[1, [2]], [3]] recursive %}{% if x is iterable %}{{ loop(x) }}{% else %}{{ x }}{% endif %}"
        "{% endfor %}|{% for i in range(100) %}{% for j in range(900) %}{% endfor %}{% endfor %}{{ 2 ** 64 }}\n"
        "{{ 'x'.ljust(1000000) }}{{ 'y'.rjust(1000000) }}{{ '{:>999000}'.format('z') }}{{ '%1000000s' % 'w' }}\n")
    out = render(sample_report(), "text", tmp_path)
    first, big, _ = out.split("\n")
    assert first == ("  ab  |  ab  |007|    a|3.14|   b|2.5|a;b|  ab|x, y|6|a1[2]|abab|[0, 0, 0]|1/2 2/2 |123|"
                     "18446744073709551616")
    assert len(big) == 3_999_000  # 4 MB of output: under the 5 MB limit
