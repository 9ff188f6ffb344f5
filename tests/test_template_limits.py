"""Template limits (docs/reports.md, "Template limits"): a user template that would build a huge
string, loop for ever or print gigabytes is refused at once with a ConfigError naming the
template file and line and the limit, never a worker eating the memory or the CPU.

Each case is an attack that, before the limits, built hundreds of megabytes or ran until killed.
"""

from __future__ import annotations

import threading
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


def rendered_within(seconds: float, tmp_path, source: str):
    """The text rendering of ``source`` (the template's second line), or the exception it raised,
    within ``seconds``: rendered in a thread, so a slow old behaviour fails the test when it is
    over, not when it ends (a C call holding the interpreter still ends first: the sizes are small)."""
    (tmp_path / "report.txt.j2").write_text("line one\n" + source + "\n")
    outcome: list = []

    def run():
        try:
            outcome.append(render(sample_report(), "text", tmp_path))
        except Exception as err:  # handed to the test
            outcome.append(err)

    worker = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(seconds)
    took = time.monotonic() - started
    assert not worker.is_alive() and took < seconds, f"still rendering after {took:.1f} s"
    return outcome[0]


def refused(tmp_path, source: str, seconds: float = 3):
    err = rendered_within(seconds, tmp_path, source)  # refused at once, not after the damage
    assert isinstance(err, ConfigError), f"not refused: {str(err)[:300]!r}"
    assert err.exit_code == 2 and err.__cause__ is None
    (issue,) = err.issues
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


def test_a_template_file_over_100_000_characters_is_refused(tmp_path):
    (tmp_path / "report.txt.j2").write_text("{{ report.title }}\n" + "x" * 1_100_000)
    with pytest.raises(ConfigError) as err:
        render(sample_report(), "text", tmp_path)
    (issue,) = err.value.issues
    assert issue.file == str(tmp_path / "report.txt.j2")
    assert issue.message == ("template limit: the template has 1,100,019 characters; a template file may have at"
                             " most 100,000")


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


# -- one step that would run long on its own: refused before it starts ---------------------------
# The clock is read between steps; these are single C calls (a hash, a comparison, a regular
# expression, a codec) that took seconds to minutes at full size. The sizes here are small, so the
# old behaviour fails in about a second.

DOUBLING = "{% set ns = namespace(a=1, b=1) %}{% for i in range(25) %}{% set ns.a = X %}{% set ns.b = Y %}{% endfor %}"


def doubled(build: str, use: str) -> str:
    """ns.a and ns.b built 25 times over from two references to themselves (2 ** 25 leaves each,
    in 25 objects), then ``use``d: a hash or comparison walks every leaf."""
    return DOUBLING.replace("X", build.replace("@", "ns.a")).replace("Y", build.replace("@", "ns.b")) + use


STRUCTURES = {  # name: (template, words of the error)
    "tuple, hashed": (doubled("(@, @)", "{{ {ns.a: 1} | length }}"), "a tuple would make more than 1,000,000"),
    "tuple, unique": (doubled("(@, @)", "{{ [ns.a] | unique | list | length }}"), "a tuple would make more than"),
    "list, compared": (doubled("[@, @]", "{{ ns.a == ns.b }}"), "a list would make more than 1,000,000"),
    "list, sorted": (doubled("[@, @]", "{{ [ns.a, ns.b] | sort | length }}"), "a list would make more than"),
    "list, in": (doubled("[@, @]", "{{ ns.a in [ns.b] }}"), "a list would make more than"),
    "dict literal": (doubled("{'x': @, 'y': @}", "{{ ns.a == ns.b }}"), "a dict would make more than 1,000,000"),
    "dict()": (doubled("dict(x=@, y=@)", "{{ ns.a == ns.b }}"), "dict() would make more than 1,000,000"),
    "fromkeys": (doubled("{}.fromkeys([0, 1], @)", "{{ ns.a == ns.b }}"), "fromkeys() would make more than"),
    "cycler": (doubled("cycler(@, @).items", "{{ {ns.a: 1} | length }}"), "Cycler() would make more than"),
    "macro varargs": ("{% macro f(n) %}{% if n %}{{ f(n - 1, varargs, varargs) }}{% else %}{{ varargs in {} }}"
                      "{% endif %}{% endmacro %}{{ f(25, 1) }}", "the arguments of f() would make more than"),
    "batch fill": ("{% set x, y = range(10000) | list, range(10000) | list %}"
                   "{% for r in [1] | batch(10000, x) %}{% for s in [1] | batch(10000, y) %}{{ r == s }}"
                   "{% endfor %}{% endfor %}", "batch would make about"),
}


def test_a_structure_under_the_limit_builds_and_compares_as_before(tmp_path):
    out = rendered_within(2, tmp_path, "{% set t = (1, 'a') %}{{ {t: 'x'}[t] }}|{{ [[2, 1], [1]] | sort }}|"
                                       "{{ dict(a=[1, 2], b=(3,)) | dictsort }}|{{ t in [t, t] }}|"
                                       "{% set ns = namespace(a=[t, t]) %}{{ ns.a == [t, t] }}|"
                                       "{{ [1, 2] | batch(3, 0) | list }}|{{ {}.fromkeys('ab', t) | length }}")
    assert out.split("\n")[1] == ("x|[[1], [2, 1]]|[('a', [1, 2]), ('b', (3,))]|True|True|[[1, 2, 0]]|2"), out


SLOW_STEPS = {  # name: (template, words of the error)
    "urlize, a long run of ) in a word": ("{{ (')' * 6000 ~ 'a)') | urlize }}",
                                          "urlize takes at most 50 characters of ), >, . or , in a row"),
    "urlize, long text": ("{{ ' '.ljust(60000).replace(' ', 'a ') | urlize | length }}",
                          "urlize takes at most 100,000 characters, not 120,000"),
    "pprint, deep": ("{% set ns = namespace(a='x' * 5000) %}{% for i in range(60) %}{% set ns.a = [ns.a, 'y' * 5000] %}"
                     "{% endfor %}{{ ns.a | pprint | length }}", "pprint takes at most 100,000 characters"),
    "str.strip, many characters": ("{{ ('a' * 10000).ljust(100000, 'a').strip(('b' * 10000).ljust(100000, 'b') ~ 'a')"
                                   " | length }}", "strip() takes at most 100 characters to remove, not 100,001"),
    "trim, many characters": ("{{ ('a' * 10000).ljust(100000, 'a') | trim(('b' * 10000).ljust(100000, 'b') ~ 'a')"
                              " | length }}", "trim takes at most 100 characters to remove, not 100,001"),
    "str.rfind, a long substring": ("{{ ('a' * 10000).ljust(20000, 'a').rfind(('a' * 5000) ~ 'b' ~ ('a' * 5000)) }}",
                                    "rfind() looks for at most 100 characters, not 10,001"),
    "str.rsplit, a long separator": ("{{ ('a' * 10000).ljust(20000, 'a').rsplit(('a' * 5000) ~ 'b' ~ ('a' * 5000))"
                                     " | length }}", "rsplit() looks for at most 100 characters, not 10,001"),
    "punycode": ("{{ '" + "".join(map(chr, range(0x4E00, 0x4E00 + 2000))) + "'.encode('punycode') | length }}",
                 "encode('punycode') takes at most 1,000 characters, not 2,000"),
    "idna": ("{{ '" + "".join(map(chr, range(0x4E00, 0x4E00 + 2000))) + "'.encode('idna') | length }}",
             "encode('idna') takes at most 1,000 characters, not 2,000"),
    "int.to_bytes": ("{{ (1).to_bytes(10 ** 7, 'big') | length }}", "to_bytes() would make about 10,000,000"),
}


# A structure of shared references (refused before it is hashed or compared), or a filter or
# method that would run long (refused before it runs): one uninterruptible step either way.
UNBOUNDED_STEPS = {**STRUCTURES, **SLOW_STEPS}


@pytest.mark.parametrize("source, words", UNBOUNDED_STEPS.values(), ids=UNBOUNDED_STEPS.keys())
def test_a_step_that_would_run_unbounded_is_refused_before_it_runs(tmp_path, source, words):
    issue = refused(tmp_path, source, seconds=2)
    assert issue.line == 2 and issue.message.startswith("template limit: ") and words in issue.message, issue


def test_a_sum_of_lists_is_one_concatenation(tmp_path):
    # sum() copies the running total at each list: 60,000 lists took seconds, quadratic.
    out = rendered_within(2, tmp_path, "{{ (' '.ljust(60000) | list | batch(1) | list) | sum(start=[]) | length }}|"
                                       "{{ [[1], [2, 3]] | sum(start=[0]) }}|{{ [(1,), (2,)] | sum(start=()) }}")
    assert out.split("\n")[1] == "60000|[0, 1, 2, 3]|(1, 2)", out


# -- a template nested deeper than Jinja or Python can compile ----------------------------------

NESTED = {  # name: (the template's second line, words of the error)
    "brackets": ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "nested too deeply"),
    "if blocks": ("{% if true %}" * 120 + "x" + "{% endif %}" * 120, "nested too deeply"),
    "for loops": ("{% for i in [1] %}" * 25 + "x" + "{% endfor %}" * 25, "nested too deeply"),
    "filters": ("{{ 'x'" + " | upper" * 3000 + " }}", "nested too deeply"),
}


@pytest.mark.parametrize("source, words", NESTED.values(), ids=NESTED.keys())
def test_a_template_nested_too_deeply_is_a_syntax_error_at_its_line(tmp_path, source, words):
    issue = refused(tmp_path, source)
    assert (issue.file, issue.line) == (str(tmp_path / "report.txt.j2"), 2), issue
    assert issue.message.startswith("template syntax error: ") and words in issue.message, issue.message


def test_an_included_template_nested_too_deeply_is_named(tmp_path):
    (tmp_path / "deep.j2").write_text("ok\n\n" + "{% for i in [1] %}" * 25 + "x" + "{% endfor %}" * 25 + "\n")
    issue = refused(tmp_path, "{% include 'deep.j2' %}")
    assert (issue.file, issue.line) == (str(tmp_path / "deep.j2"), 3), issue
    assert issue.message.startswith("template syntax error: ") and "nested too deeply" in issue.message
