"""The sandbox report templates run in: Jinja's immutable sandbox, plus limits on what a template
may build and for how long it may run (docs/reports.md, "Template limits").

The immutable sandbox keeps a template from reading what it should not; it does not keep it
from using up the machine (``'x'.center(10**9)``, ``'%999999999s' % 1``, loops in loops). Here:

- one operation (a string method, a filter, ``~``, ``+``, ``*``, ``%``, ``format``, printing a
  value) may build at most MAX_STRING characters, refused *before* it is built where the size
  can be known in advance (widths, counts, repetitions), and checked after it otherwise;
- a rendering may build at most MAX_BUILT characters in all, output at most MAX_OUTPUT, run
  loops at most MAX_ITERATIONS times in all (nested ones included; ``range`` is MAX_RANGE
  items) and take at most MAX_SECONDS. A Python thread cannot be stopped from outside, so time
  is checked from inside: at every loop iteration, call, attribute, operator, filter and piece
  of output.

Every limit raises LimitExceeded (a SecurityError), which ``render`` turns into a ConfigError
naming the template file and line. The limits are module constants, read when used.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import re
import time
import types
from collections import abc
from decimal import Decimal

from jinja2 import UndefinedError
from jinja2.compiler import CodeGenerator, optimizeconst
from jinja2.environment import TemplateModule
from jinja2.filters import make_attrgetter
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter, SecurityError
from jinja2.utils import Namespace, generate_lorem_ipsum
from markupsafe import Markup

MAX_STRING = 1_000_000  # characters one operation may build
MAX_BUILT = 50_000_000  # characters a rendering may build in all (strings made by its operations)
MAX_OUTPUT = 5_000_000  # characters of output (and of any captured block, macro or include)
MAX_ITERATIONS = 100_000  # loop iterations in one rendering, nested loops included
MAX_RANGE = 10_000  # items in range()
MAX_SECONDS = 5.0  # wall-clock time of one rendering
MAX_REPEAT = 10_000  # characters or items of a string or list built with * (items with +), batch(), slice()
MAX_EXPONENT = 100  # the right side of **
MAX_DIGITS = 4_300  # digits of an integer (Python's own limit for printing one)
MAX_WRAP = 100_000  # characters wordwrap takes (textwrap is slow on long words)
MAX_INDENT = 16  # tojson's indent
MAX_SOURCE = 1_000_000  # characters of a template file


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
        if isinstance(v, str):
            return len(v)
        if isinstance(v, bytes | bytearray):
            return 4 * len(v) + 3  # \x escapes
        if v is None or isinstance(v, bool):
            return 5
        if isinstance(v, int):
            return v.bit_length() * 2 // 5 + 2  # digits, and room for thousands separators
        if isinstance(v, float):
            return 24 + (int(math.log10(abs(v))) if math.isfinite(v) and abs(v) >= 1e16 else 0)
        if isinstance(v, Decimal):
            t = v.as_tuple()
            return len(t.digits) + abs(t.exponent) + 4 if v.is_finite() else 10
        if isinstance(v, range):
            return 32
        if id(v) in memo:
            return memo[id(v)]
        if depth > 100:
            raise _Over
        memo[id(v)] = 8  # while counting it: a container inside itself prints as [...]
        if isinstance(v, Namespace):
            v = v._Namespace__attrs  # type: ignore[attr-defined]
        n = 2
        if isinstance(v, abc.Mapping):
            for k, x in v.items():
                n += walk(k, depth + 1) + walk(x, depth + 1) + 4
                if n > cap:
                    raise _Over
        elif isinstance(v, list | tuple | abc.Sequence | abc.Set | abc.MappingView):
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
            n += len(type(v).__name__)
            for f in dataclasses.fields(v):
                n += len(f.name) + walk(getattr(v, f.name, None), depth + 1) + 3
                if n > cap:
                    raise _Over
        else:
            n = len(type(v).__name__) + 48
        memo[id(v)] = n
        return n

    try:
        return walk(value, 0)
    except (_Over, RecursionError):
        return cap + 1


def _int(value) -> int:
    """A width or count as a number (0 for anything else: the operation then says what is wrong)."""
    try:
        return abs(int(value))
    except (TypeError, ValueError, OverflowError, UndefinedError):
        return 0


_PERCENT = re.compile(r"%(?:\(([^)]*)\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)
_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?[bcdeEfFgGnosxX%]?", re.DOTALL)


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
        n += max(_int(w), size(v) + _int(p))
        if n > MAX_STRING:
            break
    return n


def replace_size(s, old, new, count=None) -> int:
    hits = s.count(old) if old else len(s) + 1
    if count is not None and int(count) >= 0:
        hits = min(hits, int(count))
    return len(s) + hits * max(len(new) - len(old), 0)


def _method_size(method, args, kwargs) -> int | None:
    """About how long a str (or bytes) method's result is, for the methods that can make it
    far longer than the string; None for the others (checked after the call)."""
    s = getattr(method, "__self__", None)
    if not isinstance(s, str | bytes | bytearray):
        return None
    name = getattr(method, "__name__", "")
    try:
        if name in ("center", "ljust", "rjust", "zfill"):
            return max(len(s), _int(args[0] if args else kwargs.get("width")))
        if name == "expandtabs":
            tab = args[0] if args else kwargs.get("tabsize", 8)
            return len(s) + s.count("\t" if isinstance(s, str) else b"\t") * _int(tab)
        if name == "replace":
            return replace_size(s, *args, **kwargs)
        if name == "translate" and args and isinstance(args[0], abc.Mapping):
            longest = max((len(v) for v in args[0].values() if isinstance(v, str | bytes)), default=1)
            return len(s) * max(longest, 1)
        if name == "join" and args:
            return size(args[0]) + len(s) * len(args[0])
    except (TypeError, ValueError):
        return None  # the call itself will say what is wrong
    return None


# ---- filters ----------------------------------------------------------------------------------


def _text(env: Sandbox, value, what: str) -> str:
    if isinstance(value, str):
        return value
    env.made(size(value), what)
    return str(value)


def _listed(env: Sandbox, a: dict, key: str) -> list:
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
    breaks = len(s) // max(_int(a["width"]), 1) + sum(map(s.count, " \t\r\n")) + 1
    env.made(len(s) + breaks * len(str(wrap)), "wordwrap")


def _check_indent(env, a):
    s, width = _text(env, a["s"], "indent"), a["width"]
    env.made(len(s) + (s.count("\n") + 1) * (len(width) if isinstance(width, str) else _int(width)), "indent")


def _check_sum(env, a):
    items = _listed(env, a, "iterable")
    if not all(isinstance(x, int | float | Decimal) for x in (a["start"], *items)):
        env.made(size([a["start"], *items]), "sum")


def _check_count(key: str, name: str):
    def check(env, a):
        if _int(a[key]) > MAX_REPEAT:
            raise LimitExceeded(f"{name}({_int(a[key]):,}): at most {MAX_REPEAT:,}")
    return check


def _check_tojson(env, a):
    indent = _int(a["indent"])
    if indent > MAX_INDENT:
        raise LimitExceeded(f"tojson(indent={indent:,}): at most {MAX_INDENT}")
    env.made(size(a["value"]) * (1 + indent), "tojson")


FILTER_CHECKS = {  # filter: check(env, its bound arguments), before it runs; may rewrite the arguments
    "center": lambda env, a: env.made(max(size(a["value"]), _int(a["width"])), "center"),
    "indent": _check_indent,
    "wordwrap": _check_wordwrap,
    "replace": lambda env, a: env.made(replace_size(_text(env, a["s"], "replace"), str(a["old"]), str(a["new"]),
                                                    a["count"]), "replace"),
    "format": lambda env, a: env.made(percent_size(_text(env, a["value"], "format"), a["kwargs"] or a["args"]),
                                      "format"),
    "join": lambda env, a: env.made(size(_listed(env, a, "value")) + len(str(a["d"])) * len(a["value"]), "join"),
    "sum": _check_sum,
    "batch": _check_count("linecount", "batch"),
    "slice": _check_count("slices", "slice"),
    "tojson": _check_tojson,
    "text_table": lambda env, a: env.made(2 * size(a["rows"]) + len(a["rows"]) * _int(a["indent"]), "text_table"),
}
CONTEXTS = ("eval_ctx", "environment", "context")
# Filters that print their value (a list, a dict...) before working on the text.
TEXT_FILTERS = frozenset(["string", "pprint", "e", "escape", "forceescape", "safe", "urlencode", "xmlattr",
                          "striptags", "urlize", "title", "upper", "lower", "capitalize", "trim", "truncate",
                          "wordcount", "md"])


def _limited(env: Sandbox, name: str, func):
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
    def limited(*args, **kwargs):
        env.tick()
        if text and len(args) > first and not isinstance(args[first], str):
            env.made(size(args[first]), f"the {name} filter")
        if check is not None:
            bound = signature.bind(*args[hidden:], **kwargs)
            bound.apply_defaults()
            check(env, bound.arguments)
            args, kwargs = (*args[:hidden], *bound.args), bound.kwargs
        return env.result(func(*args, **kwargs), f"the {name} filter")

    return limited


# ---- the environment --------------------------------------------------------------------------


class _CodeGenerator(CodeGenerator):
    """Jinja's code, with every for loop's iterable read through ``environment.guard_loop`` and
    every ``~`` through ``environment.joined``."""

    def visit_For(self, node, frame):
        self.__dict__.setdefault("_loop_iterables", set()).add(id(node.iter))
        super().visit_For(node, frame)

    def visit(self, node, *args, **kwargs):
        if id(node) not in self.__dict__.get("_loop_iterables", ()):
            return super().visit(node, *args, **kwargs)
        self.write("environment.guard_loop(")
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    @optimizeconst
    def visit_Concat(self, node, frame):
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        else:
            join = "markup_join" if frame.eval_ctx.autoescape else "str_join"
        self.write(f"environment.joined({join}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Counting:
    """A str.format formatter that adds up what it makes as it goes."""

    _env: Sandbox

    def vformat(self, format_string, args, kwargs):
        self._made = len(format_string)
        return super().vformat(format_string, args, kwargs)  # type: ignore[misc]

    def convert_field(self, value, conversion):
        if conversion is not None and not isinstance(value, str):
            self._env.made(size(value), "format()")
        return super().convert_field(value, conversion)  # type: ignore[misc]

    def format_field(self, value, format_spec):
        m = _SPEC.match(format_spec)
        custom = len(format_spec) - m.end()  # a date's %Y...: each directive may make a few dozen characters
        self._made += max(_int(m.group(1)), size(value) + _int(m.group(2))) + 16 * custom
        self._env.tick()
        self._env.made(self._made, "format()")
        return super().format_field(value, format_spec)  # type: ignore[misc]


class _Formatter(_Counting, SandboxedFormatter):
    pass


class _EscapeFormatter(_Counting, SandboxedEscapeFormatter):
    pass


class Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the limits above: a new one for each rendering (its budget of
    time, iterations and characters starts when it is made, or at ``start()``)."""

    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset(["*", "**", "+", "%"])

    def __init__(self, **options):
        self.start()
        super().__init__(finalize=self._printed, **options)
        self.globals["range"] = self._range
        self.globals["lipsum"] = self._lipsum
        self.filters = {name: _limited(self, name, f) for name, f in self.filters.items()}

    def add_filters(self, **filters) -> None:
        self.filters.update({name: _limited(self, name, f) for name, f in filters.items()})

    # -- the budget

    def start(self) -> None:
        self._deadline = time.monotonic() + MAX_SECONDS
        self._iterations = 0
        self._built = 0

    def tick(self) -> None:
        if time.monotonic() > self._deadline:
            raise LimitExceeded(f"the rendering took longer than {MAX_SECONDS:g} seconds")

    def made(self, n: int, what: str) -> None:
        """Refuse an operation that would make ``n`` characters, before it does."""
        if n > MAX_STRING:
            amount = f"more than {MAX_STRING:,}" if n == MAX_STRING + 1 else f"about {n:,}"  # size() stopped
            raise LimitExceeded(f"{what} would make {amount} characters; a template may build at most"
                                f" {MAX_STRING:,} at once")

    def result(self, value, what: str):
        """Refuse a result over MAX_STRING (a list counts 8 per item), and count it."""
        n = len(value) if isinstance(value, str | bytes) else 8 * len(value) if isinstance(value, list | tuple) else 0
        self.made(n, what)
        return self.count(value, n)

    def count(self, value, n: int | None = None):
        """Add what an operation made to the rendering's total."""
        if n is None:
            n = len(value) if isinstance(value, str) else 0
        self._built += n
        if self._built > MAX_BUILT:
            raise LimitExceeded(f"the template built more than {MAX_BUILT:,} characters in all")
        return value

    # -- hooks the compiled template calls

    def guard_loop(self, iterable):
        for item in iterable:
            self._iterations += 1
            if self._iterations > MAX_ITERATIONS:
                raise LimitExceeded(f"loops ran more than {MAX_ITERATIONS:,} times in all")
            self.tick()
            yield item

    def concat(self, pieces) -> str:  # the output, and every captured block, macro and include
        out, total = [], 0
        for piece in pieces:
            total += len(piece)
            if total > MAX_OUTPUT:
                err = LimitExceeded(f"the output is longer than {MAX_OUTPUT:,} characters")
                if isinstance(pieces, types.GeneratorType):
                    pieces.throw(err)  # raised where the template is, so the error names its line
                raise err
            self.tick()
            out.append(piece)
        return self.count("".join(out), total)

    def joined(self, join, parts):
        self.tick()
        self.made(sum(len(p) if isinstance(p, str) else size(p) for p in parts), "~")
        return self.result(join(parts), "~")

    def _printed(self, value):
        self.tick()
        if not isinstance(value, str):
            self.made(size(value), "printing a value")
        return value

    def getattr(self, obj, attribute):
        self.tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        self.tick()
        return super().getitem(obj, argument)

    def call(__self, __context, __obj, *args, **kwargs):  # as Jinja's: any keyword may be passed
        __self.tick()
        if isinstance(__obj, LoopContext) and args:  # loop(children) in a recursive loop
            args = (__self.guard_loop(args[0]), *args[1:])
        elif getattr(__obj, "__name__", None) == "join" and args and isinstance(getattr(__obj, "__self__", None), str):
            args = (list(args[0]), *args[1:])
        estimate = _method_size(__obj, args, kwargs)
        if estimate is not None:
            __self.made(estimate, f"{__obj.__name__}()")
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(getattr(__obj, "__self__", None), str | bytes):  # a string's method
            return __self.result(result, f"{__obj.__name__}()")
        return __self.count(result)  # a macro's output (counted as output), format(), loop()...

    def call_binop(self, context, op, left, right):
        self.tick()
        if op == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise LimitExceeded(f"exponent {right} is too large (at most {MAX_EXPONENT})")
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                self._digits(left.bit_length() * right)
        elif op == "*":
            if isinstance(left, int) and isinstance(right, int):
                self._digits(left.bit_length() + right.bit_length())
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | bytes | list | tuple) and type(times) is int:
                    if times * len(seq) > MAX_REPEAT:
                        raise LimitExceeded(f"* would repeat to {times * len(seq):,} characters or items: at most"
                                            f" {MAX_REPEAT:,}")
                    self.made(times * size(seq), "*")
        elif op == "+":
            both = isinstance(left, list | tuple) and isinstance(right, list | tuple)
            if both and len(left) + len(right) > MAX_REPEAT:
                raise LimitExceeded(f"a list of {len(left) + len(right):,} items: at most {MAX_REPEAT:,}")
            if isinstance(left, str | bytes | list | tuple):
                self.made(size(left) + size(right), "+")
        elif op == "%" and isinstance(left, str):
            self.made(percent_size(left, right), "%")
        return self.result(self.binop_table[op](left, right), op)

    def _digits(self, bits: int) -> None:
        if bits * 0.302 > MAX_DIGITS:
            raise LimitExceeded(f"a number of about {int(bits * 0.302):,} digits: at most {MAX_DIGITS:,}")

    def wrap_str_format(self, value):
        """str.format and format_map through a formatter that counts what it makes (Jinja's own,
        otherwise: the sandbox's attribute rules for the fields)."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or value.__name__ not in (
                "format", "format_map") or not isinstance(value.__self__, str):
            return None
        f_self = value.__self__
        formatter = _EscapeFormatter(self, escape=f_self.escape) if isinstance(f_self, Markup) else _Formatter(self)
        is_map = value.__name__ == "format_map"

        def wrapper(*args, **kwargs):
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            return type(f_self)(formatter.vformat(f_self, args, kwargs))

        return functools.update_wrapper(wrapper, value)

    # -- globals

    def _range(self, *args):
        r = range(*args)
        if len(r) > MAX_RANGE:
            raise LimitExceeded(f"range() of {len(r):,} items: at most {MAX_RANGE:,}")
        return r

    def _lipsum(self, n=5, html=True, min=20, max=100):  # Jinja's names
        self.made(_int(n) * _int(max) * 12, "lipsum")
        return generate_lorem_ipsum(n, html, min, max)
