"""The sandbox report templates run in: Jinja's immutable sandbox, plus limits on what a template
may build and for how long it may run (docs/reports.md, "Template limits").

The immutable sandbox keeps a template from reading what it should not; it does not keep it
from using up the machine (``'x'.center(10**9)``, ``'%999999999s' % 1``, loops in loops). Here:

- one operation (a string method, a filter, ``~``, ``+``, ``*``, ``%``, ``format``, printing a
  value, a list, tuple or dict the template writes) may build at most MAX_STRING characters, and
  the operations that would run long on their own are refused before they start
  (``report/sandbox_limits.py``: the sizes, and the checks before each filter and string method);
- a rendering may build at most MAX_BUILT characters in all, output at most MAX_OUTPUT, run
  loops at most MAX_ITERATIONS times in all (nested ones included; ``range`` is MAX_RANGE
  items) and take at most MAX_SECONDS. A Python thread cannot be stopped from outside, so time
  is checked from inside: at every loop iteration, call, attribute, operator, filter, structure
  built and piece of output; as no single step runs long, the rendering stops soon after.
- a template nested deeper than Jinja's parser or Python's compiler can go is a syntax error at
  its line, not a RecursionError.

Every limit raises LimitExceeded (a SecurityError), which ``render`` turns into a ConfigError
naming the template file and line. The limits are module constants, read when used (the
rendering's budget here, each operation's in ``sandbox_limits``).
"""

from __future__ import annotations

import functools
import time
import types

from jinja2 import TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator, optimizeconst
from jinja2.parser import Parser
from jinja2.runtime import LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter
from jinja2.utils import generate_lorem_ipsum
from markupsafe import Markup

from daypulse.report import sandbox_limits as limits
from daypulse.report.sandbox_limits import LimitExceeded, size

MAX_BUILT = 50_000_000  # characters a rendering may build in all (strings made by its operations)
MAX_OUTPUT = 5_000_000  # characters of output (and of any captured block, macro or include)
MAX_ITERATIONS = 100_000  # loop iterations in one rendering, nested loops included
MAX_RANGE = 10_000  # items in range()
MAX_SECONDS = 5.0  # wall-clock time of one rendering
# Characters of a template file: compiling is not timed (it comes before the clock's first
# reading), and 100,000 compile in at most about 3.5 s; the built-in templates are 16,000 in all.
MAX_SOURCE = 100_000

_KINDS = {list: "a list", tuple: "a tuple", dict: "a dict"}
# Expressions whose value is measured where it is made (a literal, a filter, a call, + and *):
# set on a namespace, it is not walked again ({% set ns.rows = ns.rows + [row] %} in a loop).
_MEASURED = (nodes.List, nodes.Tuple, nodes.Dict, nodes.Filter, nodes.Call, nodes.Add, nodes.Mul, nodes.Concat,
             nodes.Const)
TOO_DEEP = "the template is nested too deeply to compile (blocks, filters or brackets inside one another)"


# ---- the environment --------------------------------------------------------------------------


class _CodeGenerator(CodeGenerator):
    """Jinja's code, with every for loop's iterable read through ``environment.guard_loop``,
    every ``~`` through ``environment.joined``, and every list, tuple and dict the template
    writes, and every value it sets on a namespace (unless measured where it was made: a
    literal, a filter, a call, ``+``, ``*``), through ``environment.built``."""

    def _hook(self, node, hook: str) -> None:
        self.__dict__.setdefault("_hooks", {})[id(node)] = hook

    def visit_For(self, node, frame):
        self._hook(node.iter, "guard_loop")
        super().visit_For(node, frame)

    def visit_Assign(self, node, frame):
        to_namespace = isinstance(node.target, nodes.NSRef) or any(True for _ in node.target.find_all(nodes.NSRef))
        if to_namespace and not isinstance(node.node, _MEASURED):
            self._hook(node.node, "built")
        super().visit_Assign(node, frame)

    def visit(self, node, *args, **kwargs):
        hook = self.__dict__.get("_hooks", {}).get(id(node))
        if hook is None:
            return super().visit(node, *args, **kwargs)
        self.write(f"environment.{hook}(")
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    def visit_List(self, node, frame):
        self.write("environment.built(")
        super().visit_List(node, frame)
        self.write(")")

    def visit_Tuple(self, node, frame):
        if node.ctx != "load":  # a target: {% set a, b = ... %}, {% for k, v in ... %}
            return super().visit_Tuple(node, frame)
        self.write("environment.built(")
        super().visit_Tuple(node, frame)
        self.write(")")
        return None

    def visit_Dict(self, node, frame):  # as (key, value) pairs: checked before a key is hashed
        self.write("environment.built_dict((")
        for item in node.items:
            self.write("(")
            self.visit(item.key, frame)
            self.write(", ")
            self.visit(item.value, frame)
            self.write("), ")
        self.write("))")

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
        m = limits.SPEC.match(format_spec)
        custom = len(format_spec) - m.end()  # a date's %Y...: each directive may make a few dozen characters
        self._made += max(limits.as_int(m.group(1)), size(value) + limits.as_int(m.group(2))) + 16 * custom
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
        self.filters = {name: limits.limited(self, name, f) for name, f in self.filters.items()}

    def add_filters(self, **filters) -> None:
        self.filters.update({name: limits.limited(self, name, f) for name, f in filters.items()})

    # -- compiling

    def _parse(self, source, name, filename):
        parser = Parser(self, source, name, filename)
        try:
            return parser.parse()
        except RecursionError:  # Jinja's parser recurses once per level of nesting
            raise TemplateSyntaxError(TOO_DEEP, parser.stream.current.lineno, name, filename) from None

    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):
        """Jinja's; a template nested deeper than the code generator or Python's compiler can go
        (recursion, Python's 20 nested loops or 100 levels of indentation) is a syntax error at
        its deepest line."""
        try:
            return super().compile(source, name, filename, raw, defer_init)
        except (RecursionError, MemoryError, SyntaxError) as err:
            tree = self._parse(source, name, filename) if isinstance(source, str) else source
            why = f"{TOO_DEEP}: {err.msg}" if isinstance(err, SyntaxError) else TOO_DEEP
            raise TemplateSyntaxError(why, _deepest_line(tree), name, filename) from None

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
        cap = limits.MAX_STRING
        if n > cap:
            amount = f"more than {cap:,}" if n == cap + 1 else f"about {n:,}"  # size() stopped
            raise LimitExceeded(f"{what} would make {amount} characters; a template may build at most {cap:,} at once")

    def structure(self, value, what: str) -> None:
        """Refuse a list, tuple, dict, set or namespace over MAX_STRING as it prints, a shared item
        counted each time it appears: what comparing or hashing it walks, in one C call."""
        part = limits.structure(value)
        if part is not None:
            self.made(size(part), what)

    def result(self, value, what: str, printed: bool = True):
        """Refuse a result over MAX_STRING (a list counts 8 per item, and as it prints unless
        ``printed`` is false: known already), and count it."""
        n = len(value) if isinstance(value, str | bytes) else 8 * len(value) if isinstance(value, list | tuple) else 0
        self.made(n, what)
        if printed:
            self.structure(value, what)
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

    def built(self, value):
        """A list or tuple the template wrote, or a value it set on a namespace."""
        self.tick()
        self.structure(value, _KINDS.get(type(value), "a value set on a namespace"))
        return value

    def built_dict(self, pairs: tuple):
        self.tick()
        self.made(size(pairs), "a dict")
        return dict(pairs)

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
        elif isinstance(__obj, Macro) and (__obj.catch_varargs or __obj.catch_kwargs):  # kept as a tuple, a dict
            extra = args[len(__obj.arguments):], {k: v for k, v in kwargs.items() if k not in __obj.arguments}
            __self.made(size(extra), f"the arguments of {__obj.name}()")
        estimate = limits.method_size(__obj, args, kwargs)
        name = f"{getattr(__obj, '__name__', type(__obj).__name__)}()"
        if estimate is not None:
            __self.made(estimate, name)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(getattr(__obj, "__self__", None), str | bytes):  # a string's method
            return __self.result(result, name)
        __self.structure(result, name)  # dict(), namespace(), cycler(), {}.fromkeys()...
        return __self.count(result)  # a macro's output (counted as output), format(), loop()...

    def call_binop(self, context, op, left, right):
        self.tick()
        if op == "**":
            if isinstance(right, int | float) and abs(right) > limits.MAX_EXPONENT:
                raise LimitExceeded(f"exponent {right} is too large (at most {limits.MAX_EXPONENT})")
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                self._digits(left.bit_length() * right)
        elif op == "*":
            if isinstance(left, int) and isinstance(right, int):
                self._digits(left.bit_length() + right.bit_length())
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | bytes | list | tuple) and type(times) is int:
                    if times * len(seq) > limits.MAX_REPEAT:
                        raise LimitExceeded(f"* would repeat to {times * len(seq):,} characters or items: at most"
                                            f" {limits.MAX_REPEAT:,}")
                    self.made(times * size(seq), "*")
        elif op == "+":
            both = isinstance(left, list | tuple) and isinstance(right, list | tuple)
            if both and len(left) + len(right) > limits.MAX_REPEAT:
                raise LimitExceeded(f"a list of {len(left) + len(right):,} items: at most {limits.MAX_REPEAT:,}")
            if isinstance(left, str | bytes | list | tuple):
                self.made(size(left) + size(right), "+")
        elif op == "%" and isinstance(left, str):
            self.made(limits.percent_size(left, right), "%")
        return self.result(self.binop_table[op](left, right), op, printed=False)  # + and * measured it above

    def _digits(self, bits: int) -> None:
        if bits * 0.302 > limits.MAX_DIGITS:
            raise LimitExceeded(f"a number of about {int(bits * 0.302):,} digits: at most {limits.MAX_DIGITS:,}")

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
        self.made(limits.as_int(n) * limits.as_int(max) * 12, "lipsum")
        return generate_lorem_ipsum(n, html, min, max)


def _deepest_line(tree) -> int:
    """The line of a template's most deeply nested node (walked without recursion)."""
    stack, deepest, line = [(tree, 0)], -1, 1
    while stack:
        node, depth = stack.pop()
        if depth > deepest and getattr(node, "lineno", None):
            deepest, line = depth, node.lineno
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return line
