"""What one operation of a report template may make or take (docs/reports.md, "Template limits"):
the size estimates and the checks that run before a filter or a string method, for the sandbox
(``report/sandbox.py``), which counts the rendering's budget.

The sandbox reads the clock between steps; nothing stops a step that runs long on its own, so
every operation that could is bounded before it starts:

- one operation may make at most MAX_STRING characters, refused *before* it is built where the
  size can be known in advance (widths, counts, repetitions), and checked after it otherwise;
- a list, tuple or dict counts as it prints, a shared item each time it appears (``size``): what
  a comparison or a hash of it walks, in one C call (``(x, x)`` doubled 60 times is 60 objects
  but 2 ** 60 leaves);
- the filters and methods that are slow on long input take bounded input: ``wordwrap``,
  ``urlize``, ``pprint``, what ``strip`` removes, what ``rfind`` looks for, the idna and
  punycode codecs.

Every limit raises LimitExceeded (a SecurityError). The limits are module constants, read when used.
"""

from __future__ import annotations

import codecs
import dataclasses
import functools
import inspect
import itertools
import math
import re
from collections import abc
from decimal import Decimal

import markupsafe
from jinja2 import UndefinedError
from jinja2.environment import TemplateModule
from jinja2.filters import make_attrgetter
from jinja2.sandbox import SecurityError
from jinja2.utils import Cycler, Namespace

MAX_STRING = 1_000_000  # characters one operation may build (a list, tuple or dict: as it prints)
MAX_REPEAT = 10_000  # characters or items of a string or list built with * (items with +), batch(), slice()
MAX_EXPONENT = 100  # the right side of **
MAX_DIGITS = 4_300  # digits of an integer (Python's own limit for printing one)
MAX_WRAP = 100_000  # characters wordwrap takes (textwrap is slow on long words)
MAX_URLIZE = 100_000  # characters urlize takes (it works word by word, slowly)
MAX_URLIZE_RUN = 50  # characters of ) > . , in a row inside a word (urlize's search for them is quadratic)
MAX_PPRINT = 100_000  # characters pprint takes (it prints each level again for each level above it)
MAX_NEEDLE = 100  # characters strip removes and rfind, rindex, rsplit, rpartition look for (time: string x these)
MAX_CODEC = 1_000  # characters the idna and punycode codecs take (Python code, quadratic or worse)
MAX_INDENT = 16  # tojson's indent


class LimitExceeded(SecurityError):
    """A template went over one of the limits above."""


# ---- sizes ------------------------------------------------------------------------------------


class _Over(Exception):
    pass


def size(value, limit: int | None = None) -> int:
    """About how many characters ``str(value)`` has: never much less, often a little more
    (containers, dataclasses and numbers are estimated, not printed). Shared references count
    each time they appear, as they print; counting stops past ``limit`` (MAX_STRING): the answer
    is then ``limit + 1``."""
    cap = MAX_STRING if limit is None else limit
    memo: dict[int, int] = {}

    def walk(v, depth: int) -> int:
        kind = type(v)
        if kind is str:  # the usual leaves first, by type: a report's lines may be walked often
            return len(v)
        if kind is int:
            return v.bit_length() * 2 // 5 + 2  # digits, and room for thousands separators
        if kind is float:
            return 24 + (int(math.log10(abs(v))) if math.isfinite(v) and abs(v) >= 1e16 else 0)
        if v is None or kind is bool:
            return 5
        if kind not in (list, tuple, dict) and not hasattr(kind, "__dataclass_fields__"):
            leaf = _leaf(v)
            if leaf is not None:
                return leaf
        if id(v) in memo:
            return memo[id(v)]
        if depth > 100:
            raise _Over
        memo[id(v)] = 8  # while counting it: a container inside itself prints as [...]
        if isinstance(v, Namespace):
            v = v._Namespace__attrs  # type: ignore[attr-defined]
        n = 2
        if kind is dict or (kind not in (list, tuple) and isinstance(v, abc.Mapping)):
            for k, x in v.items():
                n += walk(k, depth + 1) + walk(x, depth + 1) + 4
                if n > cap:
                    raise _Over
        elif kind in (list, tuple) or isinstance(v, abc.Sequence | abc.Set | abc.MappingView):
            for x in v:
                n += walk(x, depth + 1) + 2
                if n > cap:
                    raise _Over
        elif isinstance(v, TemplateModule):  # an imported template prints its whole output
            for piece in v._body_stream:
                n += len(piece)
                if n > cap:
                    raise _Over
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            n += len(kind.__name__)
            for name in _field_names(kind):
                n += len(name) + walk(getattr(v, name, None), depth + 1) + 3
                if n > cap:
                    raise _Over
        else:
            n = len(kind.__name__) + 48
        memo[id(v)] = n
        return n

    try:
        return walk(value, 0)
    except (_Over, RecursionError):
        return cap + 1


def _leaf(v) -> int | None:
    """The size of a value printed as one piece (a subclass of str or int, bytes, a Decimal...)."""
    if isinstance(v, str):
        return len(v)
    if isinstance(v, bytes | bytearray):
        return 4 * len(v) + 3  # \x escapes
    if isinstance(v, bool):
        return 5
    if isinstance(v, int):
        return v.bit_length() * 2 // 5 + 2
    if isinstance(v, float):
        return 24 + (int(math.log10(abs(v))) if math.isfinite(v) and abs(v) >= 1e16 else 0)
    if isinstance(v, Decimal):
        t = v.as_tuple()
        return len(t.digits) + abs(t.exponent) + 4 if v.is_finite() else 10
    if isinstance(v, range):
        return 32
    return None


@functools.cache
def _field_names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def structure(value):
    """The part of a value that a comparison or a hash walks, when it is a structure a template
    can build (a list, tuple, dict, set, namespace, or a cycler's items); None otherwise."""
    if isinstance(value, Cycler):
        return value.items
    return value if isinstance(value, list | tuple | dict | set | frozenset | Namespace) else None


def as_int(value) -> int:
    """A width or count as a number (0 for anything else: the operation then says what is wrong)."""
    try:
        return abs(int(value))
    except (TypeError, ValueError, OverflowError, UndefinedError):
        return 0


_PERCENT = re.compile(r"%(?:\(([^)]*)\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)
SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?[bcdeEfFgGnosxX%]?", re.DOTALL)


def percent_size(fmt: str, args) -> int:
    """About how long ``fmt % args`` is: widths, precisions and the values' sizes."""
    mapping = args if isinstance(args, abc.Mapping) else None
    values = iter(args if isinstance(args, tuple) else (args,))
    n = len(fmt)
    for m in _PERCENT.finditer(fmt):
        key, width, precision, conv = m.groups()
        n -= len(m.group(0))  # the specifier is replaced by what it makes
        if conv == "%":
            n += 1
            continue
        w = next(values, 0) if width == "*" else width
        p = next(values, 0) if precision == "*" else precision
        v = mapping.get(key) if key is not None and mapping is not None else next(values, "")
        n += max(as_int(w), size(v) + as_int(p))
        if n > MAX_STRING:
            break
    return n


def replace_size(s, old, new, count=None) -> int:
    hits = s.count(old) if old else len(s) + 1
    if count is not None and int(count) >= 0:
        hits = min(hits, int(count))
    return len(s) + hits * max(len(new) - len(old), 0)


# ---- methods ----------------------------------------------------------------------------------

_REVERSE_SEARCHES = frozenset(["rfind", "rindex", "rsplit", "rpartition"])  # O(string x substring) in CPython
_SLOW_CODECS = frozenset(["idna", "punycode"])


def method_size(method, args, kwargs) -> int | None:
    """About how long a str (or bytes) method's result is, for the methods that can make it
    far longer than the string (and an int's to_bytes); None for the others (checked after
    the call). Refuses first a method that would run long on its own (``check_method``)."""
    s = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if isinstance(s, int) and name == "to_bytes":
        return as_int(args[0] if args else kwargs.get("length", 1))
    if not isinstance(s, str | bytes | bytearray):
        return None
    try:
        _check_method(s, name, args, kwargs)
        if name in ("center", "ljust", "rjust", "zfill"):
            return max(len(s), as_int(args[0] if args else kwargs.get("width")))
        if name == "expandtabs":
            tab = args[0] if args else kwargs.get("tabsize", 8)
            return len(s) + s.count("\t" if isinstance(s, str) else b"\t") * as_int(tab)
        if name == "replace":
            return replace_size(s, *args, **kwargs)
        if name == "translate" and args and isinstance(args[0], abc.Mapping):
            longest = max((len(v) for v in args[0].values() if isinstance(v, str | bytes)), default=1)
            return len(s) * max(longest, 1)
        if name == "join" and args:
            return size(args[0]) + len(s) * len(args[0])
    except (TypeError, ValueError, LookupError):
        return None  # the call itself will say what is wrong
    return None


def _check_method(s, name: str, args, kwargs) -> None:
    if name in ("strip", "lstrip", "rstrip"):
        _few_to_remove(args[0] if args else kwargs.get("chars"), f"{name}()")
    elif name in _REVERSE_SEARCHES:
        sub = args[0] if args else kwargs.get("sep", kwargs.get("sub"))
        if isinstance(sub, str | bytes | bytearray) and len(sub) > MAX_NEEDLE:
            raise LimitExceeded(f"{name}() looks for at most {MAX_NEEDLE} characters, not {len(sub):,}")
    elif name in ("encode", "decode") and len(s) > MAX_CODEC:
        codec = args[0] if args else kwargs.get("encoding", "utf-8")
        if isinstance(codec, str) and codecs.lookup(codec).name in _SLOW_CODECS:
            raise LimitExceeded(f"{name}({codecs.lookup(codec).name!r}) takes at most {MAX_CODEC:,} characters,"
                                f" not {len(s):,}")


def _few_to_remove(chars, what: str) -> None:
    if isinstance(chars, str | bytes | bytearray) and len(chars) > MAX_NEEDLE:
        raise LimitExceeded(f"{what} takes at most {MAX_NEEDLE} characters to remove, not {len(chars):,}")


# ---- filters ----------------------------------------------------------------------------------


def _text(env, value, what: str) -> str:
    if isinstance(value, str):
        return value
    env.made(size(value), what)
    return str(value)


def _listed(env, a: dict, key: str) -> list:
    """The filter's iterable as a list (a generator is read once), attribute taken already."""
    items = list(a[key])
    if a.get("attribute") is not None:
        items = [*map(make_attrgetter(env, a["attribute"]), items)]
        a["attribute"] = None
    a[key] = items
    return items


def _check_wordwrap(env, a):
    s = _text(env, a["s"], "wordwrap")
    if len(s) > MAX_WRAP:
        raise LimitExceeded(f"wordwrap takes at most {MAX_WRAP:,} characters, not {len(s):,}")
    wrap = a["wrapstring"] if a["wrapstring"] is not None else a["environment"].newline_sequence
    breaks = len(s) // max(as_int(a["width"]), 1) + sum(map(s.count, " \t\r\n")) + 1
    env.made(len(s) + breaks * len(str(wrap)), "wordwrap")


_URLIZE_RUN = re.compile(r"(?:[).,>]|&gt;)+")  # what urlize's tail search matches, in the escaped text


def _check_urlize(env, a):
    s = _text(env, a["value"], "urlize")
    if len(s) > MAX_URLIZE:
        raise LimitExceeded(f"urlize takes at most {MAX_URLIZE:,} characters, not {len(s):,}")
    escaped = str(markupsafe.escape(s))
    inner = (m.end() - m.start() for m in _URLIZE_RUN.finditer(escaped)
             if m.end() < len(escaped) and not escaped[m.end()].isspace())
    longest = max(inner, default=0)
    if longest > MAX_URLIZE_RUN:
        raise LimitExceeded(f"urlize takes at most {MAX_URLIZE_RUN} characters of ), >, . or , in a row inside a"
                            f" word (a > counts 4, as &gt;), not {longest:,}")


def _check_pprint(env, a):  # its value's size is checked already (a text filter): at most MAX_STRING
    n = size(a["value"])
    if n > MAX_PPRINT:
        raise LimitExceeded(f"pprint takes at most {MAX_PPRINT:,} characters, not about {n:,}")


def _check_indent(env, a):
    s, width = _text(env, a["s"], "indent"), a["width"]
    env.made(len(s) + (s.count("\n") + 1) * (len(width) if isinstance(width, str) else as_int(width)), "indent")


def _check_sum(env, a):
    items = _listed(env, a, "iterable")
    start = a["start"]
    if not all(isinstance(x, int | float | Decimal) for x in (start, *items)):
        env.made(size([start, *items]), "sum")
    if type(start) in (list, tuple):  # sum() copies the running total at each item: concatenate once
        kind = type(start)
        same = next((i for i, x in enumerate(items) if type(x) is not kind), len(items))
        a["iterable"] = [kind(itertools.chain.from_iterable(items[:same])), *items[same:]]


def _check_count(key: str, name: str):
    def check(env, a):
        if as_int(a[key]) > MAX_REPEAT:
            raise LimitExceeded(f"{name}({as_int(a[key]):,}): at most {MAX_REPEAT:,}")
        if a.get("fill_with") is not None:  # the filler is repeated: up to the count times in all
            env.made(size(a["fill_with"]) * as_int(a[key]), name)
    return check


def _check_sort(env, a):
    if isinstance(a["value"], abc.Sized):  # a long string's characters: refused before they are sorted
        env.made(8 * len(a["value"]), "sort")


def _check_tojson(env, a):
    indent = as_int(a["indent"])
    if indent > MAX_INDENT:
        raise LimitExceeded(f"tojson(indent={indent:,}): at most {MAX_INDENT}")
    env.made(size(a["value"]) * (1 + indent), "tojson")


FILTER_CHECKS = {  # filter: check(env, its bound arguments), before it runs; may rewrite the arguments
    "center": lambda env, a: env.made(max(size(a["value"]), as_int(a["width"])), "center"),
    "indent": _check_indent,
    "wordwrap": _check_wordwrap,
    "urlize": _check_urlize,
    "pprint": _check_pprint,
    "trim": lambda env, a: _few_to_remove(a["chars"], "trim"),
    "replace": lambda env, a: env.made(replace_size(_text(env, a["s"], "replace"), str(a["old"]), str(a["new"]),
                                                    a["count"]), "replace"),
    "format": lambda env, a: env.made(percent_size(_text(env, a["value"], "format"), a["kwargs"] or a["args"]),
                                      "format"),
    "join": lambda env, a: env.made(size(_listed(env, a, "value")) + len(str(a["d"])) * len(a["value"]), "join"),
    "sum": _check_sum,
    "sort": _check_sort,
    "batch": _check_count("linecount", "batch"),
    "slice": _check_count("slices", "slice"),
    "tojson": _check_tojson,
    "text_table": lambda env, a: env.made(2 * size(a["rows"]) + len(a["rows"]) * as_int(a["indent"]), "text_table"),
}
CONTEXTS = ("eval_ctx", "environment", "context")
# Filters that print their value (a list, a dict...) before working on the text.
TEXT_FILTERS = frozenset(["string", "pprint", "e", "escape", "forceescape", "safe", "urlencode", "xmlattr",
                          "striptags", "urlize", "title", "upper", "lower", "capitalize", "trim", "truncate",
                          "wordcount", "md"])


def limited(env, name: str, func):
    """The filter ``func`` with its check, the clock, and its result counted (``env``: the sandbox)."""
    check, signature = FILTER_CHECKS.get(name), None
    if check is not None:
        try:
            signature = inspect.signature(func)
        except (TypeError, ValueError):
            check = None
    text = name in TEXT_FILTERS
    first = 1 if hasattr(func, "jinja_pass_arg") else 0  # the value comes after the context Jinja passes
    # Jinja's async-ready filters take a context their (sync) signature does not show.
    hidden = first if signature is not None and next(iter(signature.parameters), None) not in CONTEXTS else 0

    @functools.wraps(func)  # keeps jinja_pass_arg: the filter still gets its context
    def wrapper(*args, **kwargs):
        env.tick()
        if text and len(args) > first and not isinstance(args[first], str):
            env.made(size(args[first]), f"the {name} filter")
        if check is not None:
            bound = signature.bind(*args[hidden:], **kwargs)
            bound.apply_defaults()
            check(env, bound.arguments)
            args, kwargs = (*args[:hidden], *bound.args), bound.kwargs
        return env.result(func(*args, **kwargs), f"the {name} filter")

    return wrapper
