using System.Globalization;
using System.Text;
using JitVm.Bytecode;

namespace JitVm.Tests.Fuzz;

/// <summary>
/// Generates random modules in assembly text that always verify, for differential testing of the execution tiers.
/// The same seed always gives the same text.
/// </summary>
/// <remarks>
/// <para>Each program has a <c>main () -&gt; ()</c> entry and a few helpers with i64/f64/ptr/word parameters and
/// (possibly several) results. Helpers form a call DAG (a helper only calls helpers generated after it), so the only
/// cycles are self-recursion, which carries a depth counter (sometimes deliberately unbounded or too deep, so
/// <c>CallDepthExceeded</c> fires).</para>
/// <para>Swarm testing: every seed switches feature groups on or off and picks a trap rate, so programs differ in
/// shape, not just in constants. With a trap rate of zero a program only stops early through fuel, call depth or
/// heap limits; otherwise "risky" choices (a divisor that may be zero, an unchecked float conversion, an index that
/// may be out of bounds, a word that may hold the wrong tag, a wrong function reference ...) appear at that rate.</para>
/// <para>Invariants that keep safe code safe: every ptr the generic expressions produce is an array of at least
/// <see cref="MinObjectWords"/> words holding only non-pointer words (unless a risky store broke that on purpose);
/// linked structures live in hidden locals of their templates. Loop counters and the recursion depth are locals that
/// generated code reads but never writes. Every ptr local is assigned at the top of its function.</para>
/// <para>The emitter keeps a type stack and checks every instruction, every label join and every return, so a
/// generator bug shows up as an exception naming the seed rather than as a verification error.</para>
/// </remarks>
public sealed class ProgramGenerator
{
    private const VmType I = VmType.I64;
    private const VmType F = VmType.F64;
    private const VmType P = VmType.Ptr;
    private const VmType W = VmType.Word;

    /// <summary>Every ptr that generic code produces names an object with at least this many words.</summary>
    private const int MinObjectWords = 4;

    /// <summary>Loops nested in one function run at most about this many innermost iterations in total.</summary>
    private const int LoopProductLimit = 1500;

    private static readonly long[] InterestingIntegers =
    [
        0, 1, -1, 2, 3, 7, 8, 31, 32, 63, 64, 65, 127, 128, 255, 256, -128, -129, 0x7FFF, 0x8000, 0xFFFF,
        0x7FFF_FFFF, 0x8000_0000, -0x8000_0000L, 0xFFFF_FFFF, 1L << 53, (1L << 53) + 1, 1_000_000_007,
        long.MinValue, long.MinValue + 1, long.MaxValue, long.MaxValue - 1, unchecked((long)0xDEAD_BEEF_CAFE_BABE),
    ];

    private static readonly string[] InterestingFloats =
    [
        "0.0", "-0.0", "1.0", "-1.0", "0.5", "-0.5", "1.5", "2.5", "-2.5", "3.5", "0.1", "1E+20", "-1E+20",
        "inf", "-inf", "nan", "-nan", "nan:0x7ff8000000000001", "nan:0xfff0000000000123", "1E+300", "-1E+300",
        "5E-324", "-5E-324", "2.2250738585072014E-308", "1.7976931348623157E+308",
        "9.2233720368547758E+18", "-9.2233720368547758E+18", "9.223372036854775E+18", "-9.223372036854777E+18",
        "1.8446744073709552E+19", "4503599627370495.5", "4503599627370496.5", "-4503599627370497.5", "123456789.75",
    ];

    private readonly int _seed;
    private readonly Random _random;
    private readonly Swarm _on;
    private readonly List<FunctionSpec> _imports = [];
    private readonly List<FunctionSpec> _helpers = [];
    private readonly List<(string Name, VmType Type)> _globals = [];
    private readonly List<string> _data = [];
    private readonly List<VmType> _valueTypes = [I];
    private FunctionSpec? _treeSum;
    private readonly Dictionary<FunctionSpec, FunctionSpec> _taskBodies = [];
    private FunctionSpec? _idleTask;
    private FunctionSpec _main = null!;
    private int _functionCount;
    private Fn _fn = null!;

    private ProgramGenerator(int seed)
    {
        _seed = seed;
        _random = new Random(seed);
        _on = new Swarm(_random);
    }

    /// <summary>Generates the program for <paramref name="seed"/>.</summary>
    public static string Generate(int seed) => new ProgramGenerator(seed).Build();

    // ------------------------------------------------------------------------------------------------------------
    // Module
    // ------------------------------------------------------------------------------------------------------------

    private string Build()
    {
        if (_on.Floats) _valueTypes.Add(F);
        if (_on.Ptrs) _valueTypes.Add(P);
        if (_on.Words) _valueTypes.Add(W);

        _imports.Add(new FunctionSpec("print_i64", _functionCount++, int.MaxValue, [I], [], false));
        _imports.Add(new FunctionSpec("print_f64", _functionCount++, int.MaxValue, [F], [], false));
        _imports.Add(new FunctionSpec("print_char", _functionCount++, int.MaxValue, [I], [], false));
        _imports.Add(new FunctionSpec("print_bytes", _functionCount++, int.MaxValue, [P, I, I], [], false));

        _main = new FunctionSpec("main", _functionCount++, -1, [], [], false);
        var helperCount = _random.Next(2, 7);
        for (var order = 0; order < helperCount; order++)
        {
            var recursive = _on.Recursion && Chance(0.45);
            var parameters = new List<VmType>();
            if (recursive) parameters.Add(I);
            var parameterCount = _random.Next(0, 4);
            for (var k = 0; k < parameterCount; k++) parameters.Add(AnyValueType());
            var results = new List<VmType>();
            var resultCount = _on.MultiResults ? _random.Next(0, 4) : _random.Next(0, 2);
            for (var k = 0; k < resultCount; k++) results.Add(AnyValueType());
            _helpers.Add(new FunctionSpec($"f{order}", _functionCount++, order, [.. parameters], [.. results], recursive));
        }
        if (_on.Lists) _treeSum = new FunctionSpec("tree_sum", _functionCount++, int.MaxValue, [P], [I], false);
        if (_on.Tasks)
        {
            foreach (var helper in _helpers.Where(Spawnable))
                _taskBodies[helper] = new FunctionSpec($"task_{helper.Name}", _functionCount++, int.MaxValue, [P, .. helper.Parameters], [], false);
            _idleTask = new FunctionSpec("idle_task", _functionCount++, int.MaxValue, [P], [], false);
        }

        if (_on.Globals)
        {
            var count = _random.Next(1, 5);
            for (var k = 0; k < count; k++)
            {
                var type = _valueTypes.Where(t => t != P).ElementAt(_random.Next(_valueTypes.Count(t => t != P)));
                _globals.Add(($"g{k}", type));
            }
        }
        if (_on.Data)
        {
            var count = _random.Next(1, 4);
            for (var k = 0; k < count; k++) _data.Add($"d{k}");
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"; generated by ProgramGenerator, seed {_seed}; {_on}\n");
        foreach (var import in _imports) text.Append(CultureInfo.InvariantCulture, $".import {import.Name} {import.Signature}\n");
        foreach (var (name, type) in _globals)
        {
            var initial = type == F ? FloatLiteral() : IntegerConstant().ToString(CultureInfo.InvariantCulture);
            text.Append(CultureInfo.InvariantCulture, $".global {name} {type.Name()} = {initial}\n");
        }
        foreach (var name in _data) text.Append(CultureInfo.InvariantCulture, $".data {name} {DataBytes()}\n");
        if (_on.Exceptions) text.Append(".tag exn (i64)\n");

        var bodies = new List<string> { GenerateFunction(_main) };
        foreach (var helper in _helpers) bodies.Add(GenerateFunction(helper));
        if (_treeSum is not null) bodies.Add(GenerateTreeSum(_treeSum));
        foreach (var (helper, body) in _taskBodies) bodies.Add(TaskBody(helper, body));
        if (_idleTask is not null) bodies.Add(".func idle_task (c: ptr) -> ()\n    local.get c\n    chan.recv\n    drop\n    drop\n    return\n.end\n");
        // main first, then the helpers in call order: the index space is imports, main, helpers, tree_sum.
        foreach (var body in bodies) text.Append('\n').Append(body);
        return text.ToString();
    }

    private string DataBytes()
    {
        var length = _random.Next(MinObjectWords * 8, 72);
        var text = new StringBuilder("\"");
        for (var i = 0; i < length; i++)
        {
            var c = _random.Next(10) == 0 ? "\\n" : ((char)_random.Next(32, 127)).ToString();
            text.Append(c switch { "\"" => "\\\"", "\\" => "\\\\", _ => c });
        }
        text.Append('"');
        if (Chance(0.3)) text.Append(CultureInfo.InvariantCulture, $", {_random.Next(256)}, 0, 255");
        return text.ToString();
    }

    private VmType AnyValueType() => _valueTypes[_random.Next(_valueTypes.Count)];

    // ------------------------------------------------------------------------------------------------------------
    // Functions
    // ------------------------------------------------------------------------------------------------------------

    private string GenerateFunction(FunctionSpec spec)
    {
        _fn = new Fn(spec) { Budget = spec == _main ? _random.Next(80, 260) : _random.Next(40, 170) };
        for (var i = 0; i < spec.Parameters.Length; i++)
        {
            var isDepth = spec.Recursive && i == 0;
            _fn.Locals.Add(new Local(isDepth ? "depth" : $"p{i}", spec.Parameters[i], Readable: true, Writable: !isDepth, Parameter: true));
        }

        if (spec.Recursive)
        {
            // Base case: depth <= 0 returns at once.
            var recurse = NewLabel("recurse");
            LocalGet(_fn.Locals[0]);
            Const(0);
            Op("i64.le_s");
            BrIfZ(recurse);
            _fn.SelfCalls = int.MaxValue; // no recursion from the base case
            foreach (var result in spec.Results) Expr(result, 1);
            _fn.SelfCalls = 0;
            Return();
            Place(recurse);
        }

        if (spec == _main) Drive();
        Block(_random.Next(3, 10), _random.Next(2, 4));

        if (Chance(0.15)) Expr(AnyValueType(), 1); // a value below the results, which return discards
        if (_on.TailCalls && Chance(0.4) && TailCall()) return Render();
        foreach (var result in spec.Results) Expr(result, _random.Next(1, 4));
        Return();
        return Render();
    }

    /// <summary>main calls most helpers at least once (some in a small loop) so their code actually runs.</summary>
    private void Drive()
    {
        foreach (var helper in _helpers)
        {
            if (helper != _helpers[0] && Chance(0.15)) continue;
            Block(_random.Next(0, 3), 2);
            var repeat = Chance(0.35) ? _random.Next(2, 9) : 1;
            Local? counter = null;
            var head = NewLabel("drive");
            if (repeat > 1)
            {
                counter = Hidden(I, readable: true);
                Const(repeat);
                LocalSet(counter);
                Place(head);
                _fn.LoopDepth++;
            }
            Arguments(helper, 2);
            if (_on.Indirect && Chance(0.3))
            {
                FunctionReference(helper, 1);
                CallIndirect(helper);
            }
            else
            {
                Call(helper);
            }
            ConsumeResults(helper.Results);
            if (_taskBodies.ContainsKey(helper) && Chance(0.6)) TaskStatement(helper);
            if (counter is not null)
            {
                _fn.LoopDepth--;
                LocalGet(counter);
                Const(1);
                Op("i64.sub");
                LocalTee(counter);
                Const(0);
                Op("i64.gt_s");
                BrIf(head);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Tasks and channels. Only what cannot depend on the schedule: a task's results reach main through its own
    // channel or its join, in a fixed order, and a cancelled task is one that could only ever wait.
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>A helper a task can run: its arguments hold no pointers, so spawning it moves none of main's objects
    /// (which would make main's later uses of them trap).</summary>
    private static bool Spawnable(FunctionSpec helper) => helper.Parameters.All(t => t is I or F);

    /// <summary>Runs <paramref name="helper"/> as a task: either spawned and joined for its results, or through its
    /// task body, which sends each result on a channel of its own and closes it; main receives them in order, checks
    /// the channel is then closed or empty, and joins the task.</summary>
    private void TaskStatement(FunctionSpec helper)
    {
        if (Chance(0.1))
        {
            Op("task.self");
            Op("len");
            Consume(I);
        }
        if (_idleTask is not null && Chance(0.2))
        {
            // A task that only waits on a channel nobody sends to, cancelled at once: it traps Cancelled whenever it
            // gets to run, and nothing of it is observable.
            Const(1);
            Op("chan.new");
            Pop(P);
            Push(P);
            Emit($"task.spawn {_idleTask.Name}");
            Op("task.cancel");
        }
        if (helper.Results.Length == 0 || Chance(0.3))
        {
            Arguments(helper, 2);
            Pop(helper.Parameters);
            Push(P);
            Emit($"task.spawn {helper.Name}");
            Pop(P);
            foreach (var type in helper.Results) Push(type);
            Emit($"task.join {helper.Signature}");
            ConsumeResults(helper.Results);
            return;
        }
        var body = _taskBodies[helper];
        var channel = Hidden(P);
        var task = Hidden(P);
        Const(_random.Next(1, 4));
        Op("chan.new");
        LocalSet(channel);
        LocalGet(channel);
        Arguments(helper, 2);
        Pop(body.Parameters);
        Push(P);
        Emit($"task.spawn {body.Name}");
        LocalSet(task);
        foreach (var type in helper.Results)
        {
            LocalGet(channel);
            Op("chan.recv");
            Consume(I); // the status: 1 (or, had the task trapped before sending, main would have trapped Deadlock)
            switch (type)
            {
                case I: Op("word.as_i64"); break;
                case F: Op("word.as_f64"); break;
                case P: Op("word.as_ptr"); break;
            }
            Consume(type);
        }
        // The task may not have closed the channel yet (0 and 0 once it has, 0 and -1 before): drop both.
        LocalGet(channel);
        Const(0);
        Op("chan.recv_for");
        Drop();
        Drop();
        LocalGet(task);
        Pop(P);
        Emit($"task.join {body.Signature}");
    }

    /// <summary>task_fK (c: ptr, the helper's parameters) -> (): calls the helper, sends each result on c in order
    /// (pointers move), then closes c.</summary>
    private static string TaskBody(FunctionSpec helper, FunctionSpec body)
    {
        var text = new StringBuilder();
        var parameters = string.Join("", helper.Parameters.Select((t, i) => $", a{i}: {t.Name()}"));
        text.Append(CultureInfo.InvariantCulture, $".func {body.Name} (c: ptr{parameters}) -> ()\n");
        for (var i = 0; i < helper.Results.Length; i++)
            text.Append(CultureInfo.InvariantCulture, $"    .local r{i} {helper.Results[i].Name()}\n");
        for (var i = 0; i < helper.Parameters.Length; i++)
            text.Append(CultureInfo.InvariantCulture, $"    local.get a{i}\n");
        text.Append(CultureInfo.InvariantCulture, $"    call {helper.Name}\n");
        for (var i = helper.Results.Length - 1; i >= 0; i--)
            text.Append(CultureInfo.InvariantCulture, $"    local.set r{i}\n");
        for (var i = 0; i < helper.Results.Length; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"    local.get c\n    local.get r{i}\n");
            var toWord = helper.Results[i] switch { I => "word.of_i64", F => "word.of_f64", P => "word.of_ptr", _ => null };
            if (toWord is not null) text.Append(CultureInfo.InvariantCulture, $"    {toWord}\n");
            text.Append("    chan.send\n");
        }
        text.Append("    local.get c\n    chan.close\n    return\n.end\n");
        return text.ToString();
    }

    private string Render()
    {
        var spec = _fn.Spec;
        var text = new StringBuilder();
        var parameters = string.Join(", ", _fn.Locals.Where(l => l.Parameter).Select(l => $"{l.Name}: {l.Type.Name()}"));
        text.Append(CultureInfo.InvariantCulture, $".func {spec.Name} ({parameters}) -> ({Types(spec.Results)})\n");
        foreach (var local in _fn.Locals.Where(l => !l.Parameter))
            text.Append(CultureInfo.InvariantCulture, $"    .local {local.Name} {local.Type.Name()}\n");

        // Every ptr local is assigned before anything else runs: from a ptr parameter when there is one, else from
        // one small allocation (or a data segment) shared by all of them.
        var pointers = _fn.Locals.Where(l => !l.Parameter && l.Type == P).ToList();
        if (pointers.Count > 0)
        {
            var parameter = _fn.Locals.FirstOrDefault(l => l.Parameter && l.Type == P);
            if (parameter is not null) text.Append(CultureInfo.InvariantCulture, $"    local.get {parameter.Name}\n");
            else if (!_on.Heap && _data.Count > 0) text.Append(CultureInfo.InvariantCulture, $"    data.alloc {_data[0]}\n");
            else text.Append(CultureInfo.InvariantCulture, $"    i64.const {MinObjectWords}\n    alloc\n");
            for (var i = 0; i < pointers.Count; i++)
                text.Append(CultureInfo.InvariantCulture, $"    local.{(i == pointers.Count - 1 ? "set" : "tee")} {pointers[i].Name}\n");
        }
        foreach (var line in _fn.Lines) text.Append(line).Append('\n');
        text.Append(".end\n");
        return text.ToString();
    }

    private string GenerateTreeSum(FunctionSpec spec)
    {
        // tree_sum (n: ptr) -> (i64): node = [key, left word, right word, parent ptr]; combines keys in order.
        _fn = new Fn(spec) { Budget = 1000 };
        var node = new Local("n", P, Readable: false, Writable: false, Parameter: true);
        _fn.Locals.Add(node);
        var child = Hidden(W);
        var noLeft = NewLabel("no_left");
        var noRight = NewLabel("no_right");
        LocalGet(node);
        Const(0);
        Op("load.i");
        LocalGet(node);
        Const(1);
        Op("load.w");
        LocalTee(child);
        Op("isptr");
        BrIfZ(noLeft);
        Const(31);
        Op("i64.mul");
        LocalGet(child);
        Op("word.as_ptr");
        Call(spec);
        Op("i64.add");
        Place(noLeft);
        LocalGet(node);
        Const(2);
        Op("load.w");
        LocalTee(child);
        Op("isptr");
        BrIfZ(noRight);
        Const(7);
        Op("i64.mul");
        LocalGet(child);
        Op("word.as_ptr");
        Call(spec);
        Op("i64.xor");
        Place(noRight);
        Return();
        return Render();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Statements (the operand stack is the function's base stack, empty, before and after each one)
    // ------------------------------------------------------------------------------------------------------------

    private void Block(int count, int depth)
    {
        for (var i = 0; i < count && _fn.Budget > 0; i++) Statement(depth);
    }

    private void Statement(int depth)
    {
        var d = Math.Max(depth - 1, 0);
        var e = _random.Next(1, 4);
        var inLoop = _fn.LoopLabels.Count > 0;
        Choose(
            (5, () => SetLocalStatement(e)),
            (_globals.Count > 0 ? 2 : 0, () =>
            {
                var (name, type) = _globals[_random.Next(_globals.Count)];
                Expr(type, e);
                GlobalSet(name, type);
            }),
            (_on.Print ? 4 : 0, () => PrintStatement(e)),
            (_on.Branches && depth > 0 ? 3 : 0, () => IfStatement(d, e)),
            (_on.Loops && depth > 0 && _fn.LoopDepth < 3 ? 3 : 0, () => LoopStatement(d)),
            (_on.BrTable && depth > 0 ? 2 : 0, () => SwitchStatement(d, e)),
            (_on.Calls ? 4 : 0, () => CallStatement(e)),
            (_on.Indirect ? 2 : 0, () => IndirectStatement(e)),
            (_on.Heap ? 3 : 0, () => StoreStatement(e)),
            (_on.Heap ? 1 : 0, () => BulkStatement(e)),
            (_on.Lists && _fn.LoopDepth == 0 ? 1 : 0, () => ListTemplate(e)),
            (_on.Lists && _fn.LoopDepth == 0 ? 1 : 0, () => TreeTemplate(e)),
            (_on.StackOps ? 1 : 0, () => ShuffleStatement(e)),
            (inLoop ? 1 : 0, () =>
            {
                var (exit, next) = _fn.LoopLabels[_random.Next(_fn.LoopLabels.Count)];
                Condition(e, rare: true);
                BrIf(Chance(0.5) ? exit : next);
            }),
            (1, () => EarlyReturn(e)),
            (1, () => TrapStatement(e)),
            (_on.Exceptions ? 1 : 0, () => ThrowStatement(e)),
            (_on.Exceptions && depth > 0 && _fn.Stack.Count == 0 ? 2 : 0, () => TryStatement(d)),
            (1, () => Op("nop")));
    }

    /// <summary>Sometimes throws exn (a helper's throw may reach a handler in any caller, or end the run in
    /// UncaughtException).</summary>
    private void ThrowStatement(int e)
    {
        var skip = NewLabel("nothrow");
        Condition(e, rare: true);
        BrIfZ(skip);
        Expr(I, e);
        Pop(I);
        Emit("throw exn");
        _fn.Reachable = false;
        Place(skip);
    }

    /// <summary>Statements in a protected range whose handler prints (or drops) the payload; the range is left by a
    /// br past the handler. Entered with an empty stack, so every path reaches the end with one.</summary>
    private void TryStatement(int depth)
    {
        var start = NewLabel("try");
        var handler = NewLabel("caught");
        var done = NewLabel("tried");
        _fn.LabelStacks[handler] = [I];
        Place(start);
        Block(_random.Next(1, 4), depth);
        if (_fn.Reachable) Br(done);
        Place(handler);
        if (_on.Print) Call(_imports[0]);
        else Drop();
        Place(done);
        // Added when the range is complete, so a range nested in it (complete earlier) comes first in the table.
        _fn.Lines.Add($"    .catch exn {start} {handler} {handler}");
    }

    private void SetLocalStatement(int e)
    {
        var type = AnyValueType();
        Expr(type, e);
        LocalSet(WritableLocal(type));
    }

    private void PrintStatement(int e)
    {
        Choose(
            (4, () =>
            {
                ExprI64(e);
                Call(_imports[0]);
            }),
            (_on.Floats ? 3 : 0, () =>
            {
                ExprF64(e);
                Call(_imports[1]);
            }),
            (2, () =>
            {
                if (Chance(0.8)) Const(Chance(0.2) ? '\n' : _random.Next('a', 'z' + 1));
                else ExprI64(e);
                Call(_imports[2]);
            }),
            (_on.Ptrs ? 2 : 0, () =>
            {
                ExprPtr(e);
                if (Risky())
                {
                    Const(_random.Next(-2, 40));
                    Const(_random.Next(-2, 40));
                }
                else
                {
                    var start = _random.Next(0, 16);
                    Const(start);
                    Const(_random.Next(0, MinObjectWords * 8 - start + 1));
                }
                Call(_imports[3]);
            }));
    }

    private void IfStatement(int d, int e)
    {
        var end = NewLabel("endif");
        Condition(e);
        switch (_random.Next(4))
        {
            case 0:
            {
                var otherwise = NewLabel("else");
                BrIfZ(otherwise);
                Block(_random.Next(1, 4), d);
                Br(end);
                Place(otherwise);
                Block(_random.Next(1, 4), d);
                break;
            }
            case 1:
            {
                var then = NewLabel("then");
                BrIf(then);
                Block(_random.Next(1, 4), d);
                Br(end);
                Place(then);
                Block(_random.Next(1, 4), d);
                break;
            }
            case 2:
                BrIfZ(end);
                Block(_random.Next(1, 4), d);
                break;
            default:
                BrIf(end);
                Block(_random.Next(1, 4), d);
                break;
        }
        Place(end);
    }

    private void LoopStatement(int d)
    {
        var count = LoopCount();
        var counter = Hidden(I, readable: true);
        var head = NewLabel("loop");
        var next = NewLabel("next");
        var exit = NewLabel("exit");
        var product = _fn.LoopProduct;
        _fn.LoopProduct *= Math.Max(count, 1);
        _fn.LoopDepth++;
        switch (_random.Next(3))
        {
            case 0:
                // for (c = 0; c < bound; c++), the bound a constant or a small expression evaluated every time
                Const(0);
                LocalSet(counter);
                Place(head);
                LocalGet(counter);
                if (Chance(0.7))
                {
                    Const(count);
                }
                else
                {
                    ExprI64(1);
                    Const(15);
                    Op("i64.and");
                }
                Op("i64.ge_s");
                BrIf(exit);
                LoopBody(exit, next, d);
                LocalGet(counter);
                Const(1);
                Op("i64.add");
                LocalSet(counter);
                Br(head);
                Place(exit);
                break;
            case 1:
                // do { } while (--c > 0)
                Const(Math.Max(count, 1));
                LocalSet(counter);
                Place(head);
                LoopBody(exit, next, d);
                LocalGet(counter);
                Const(1);
                Op("i64.sub");
                LocalTee(counter);
                Const(0);
                Op("i64.gt_s");
                BrIf(head);
                Place(exit);
                break;
            default:
                // while (c != 0) { ...; c-- }
                Const(count);
                LocalSet(counter);
                Place(head);
                LocalGet(counter);
                BrIfZ(exit);
                LoopBody(exit, next, d);
                LocalGet(counter);
                Const(1);
                Op("i64.sub");
                LocalSet(counter);
                Br(head);
                Place(exit);
                break;
        }
        _fn.LoopDepth--;
        _fn.LoopProduct = product;
    }

    private void LoopBody(string exit, string next, int d)
    {
        _fn.LoopLabels.Add((exit, next));
        Block(_random.Next(1, 5), d);
        _fn.LoopLabels.RemoveAt(_fn.LoopLabels.Count - 1);
        Place(next);
    }

    private int LoopCount()
    {
        var roll = _random.Next(100);
        var count = roll < 55 ? _random.Next(0, 6) : roll < 85 ? _random.Next(6, 21) : roll < 96 ? _random.Next(21, 101) : _random.Next(101, 301);
        return Math.Min(count, Math.Max(1, LoopProductLimit / _fn.LoopProduct));
    }

    private void SwitchStatement(int d, int e)
    {
        var (cases, fallback) = Dispatch(e);
        var end = NewLabel("endswitch");
        foreach (var label in cases)
        {
            Place(label);
            Block(_random.Next(1, 3), d);
            if (Chance(0.8)) Br(end); // otherwise fall through into the next case
        }
        Place(fallback);
        Block(_random.Next(1, 3), d);
        Place(end);
    }

    /// <summary>Emits a selector and a br_table over fresh case labels; returns the labels to place.</summary>
    private (List<string> Cases, string Default) Dispatch(int e)
    {
        ExprI64(e);
        switch (_random.Next(3))
        {
            case 0:
                Const(_random.Next(1, 8));
                Op("i64.rem_u");
                break;
            case 1:
                Const(3);
                Op("i64.and");
                break;
        }
        var cases = new List<string>();
        var caseCount = _random.Next(0, 5);
        for (var i = 0; i < caseCount; i++) cases.Add(NewLabel("case"));
        var fallback = NewLabel("default");
        var table = new List<string>(cases);
        var extra = _random.Next(0, 3);
        for (var i = 0; i < extra; i++) table.Add(Chance(0.3) || cases.Count == 0 ? fallback : cases[_random.Next(cases.Count)]);
        Shuffle(table);
        BrTable(table, fallback);
        return (cases, fallback);
    }

    private void CallStatement(int e)
    {
        var callees = Callees();
        if (callees.Count == 0)
        {
            PrintStatement(e);
            return;
        }
        var callee = callees[_random.Next(callees.Count)];
        Arguments(callee, e);
        Call(callee);
        ConsumeResults(callee.Results);
    }

    private void IndirectStatement(int e)
    {
        var targets = IndirectTargets(null);
        if (targets.Count == 0 || Chance(0.25))
        {
            // An indirect call to a host import.
            var import = _imports[_random.Next(_on.Floats ? 2 : 1)];
            Expr(import.Parameters[0], e);
            FunctionReference(import, e);
            CallIndirect(import);
            return;
        }
        var target = targets[_random.Next(targets.Count)];
        Arguments(target, e);
        FunctionReference(target, e);
        CallIndirect(target);
        ConsumeResults(target.Results);
    }

    private void StoreStatement(int e)
    {
        var kind = _random.Next(7);
        ExprPtr(e);
        if (kind == 5)
        {
            ByteIndex(e);
            ExprI64(e);
            Op("store.u8");
            return;
        }
        if (kind == 6)
        {
            // A byte-addressed store of 2, 4 or 8 bytes at any alignment.
            var (store, width) = Pick(("store.u16", 2), ("store.u32", 4), ("store.u64", 8), ("store.f64", 8));
            WideByteIndex(e, width);
            if (store == "store.f64") ExprF64(e);
            else ExprI64(e);
            Op(store);
            return;
        }
        Index(e);
        switch (kind)
        {
            case 0:
            case 1:
                ExprI64(e);
                Op("store.i");
                break;
            case 2:
                if (_on.Floats) ExprF64(e);
                else FloatConst();
                Op("store.f");
                break;
            case 3:
                if (Risky())
                {
                    ExprPtr(e);
                    Op("store.p"); // a pointer field in an array: later numeric reads of it trap TagMismatch
                }
                else
                {
                    ExprI64(e);
                    Op("store.i");
                }
                break;
            default:
                if (Risky() && _on.Words)
                {
                    ExprWord(e);
                }
                else if (_on.Floats && Chance(0.4))
                {
                    ExprF64(e);
                    Op("word.of_f64");
                }
                else
                {
                    ExprI64(e);
                    Op("word.of_i64");
                }
                Op("store.w");
                break;
        }
    }

    /// <summary>mem.copy or mem.fill on generic arrays: safe ranges stay inside their MinObjectWords words (starts
    /// 0 or 1, counts 0 to 2); risky ones may start or end outside, or have a negative count.</summary>
    private void BulkStatement(int e)
    {
        if (Chance(0.6))
        {
            ExprPtr(e);
            BulkOperand(e, 2);
            ExprPtr(e);
            BulkOperand(e, 2);
            BulkOperand(e, 3);
            Op("mem.copy");
            return;
        }
        ExprPtr(e);
        BulkOperand(e, 2);
        if (Risky() && _on.Words) ExprWord(e); // a pointer filled into an array: later numeric reads of it trap
        else
        {
            ExprI64(e);
            Op("word.of_i64");
        }
        BulkOperand(e, 3);
        Op("mem.fill");
    }

    /// <summary>A start or count for the bulk operations: below <paramref name="limit"/> unless risky.</summary>
    private void BulkOperand(int e, int limit)
    {
        if (Risky())
        {
            if (Chance(0.5)) Const(_random.Next(-2, 7));
            else ExprI64(e);
        }
        else if (Chance(0.5))
        {
            Const(_random.Next(0, limit));
        }
        else
        {
            ExprI64(e);
            Const(1);
            Op("i64.and");
        }
    }

    /// <summary>A byte index for an access of <paramref name="width"/> bytes: inside a generic array unless risky.</summary>
    private void WideByteIndex(int d, int width)
    {
        if (Risky())
        {
            if (Chance(0.5)) Const(_random.Next(-2, MinObjectWords * 8 + 2));
            else ExprI64(d);
        }
        else if (Chance(0.5))
        {
            Const(_random.Next(0, MinObjectWords * 8 - width + 1));
        }
        else
        {
            // 0 .. 15, and 15 + 8 <= 32 bytes.
            ExprI64(d);
            Const(15);
            Op("i64.and");
        }
    }

    private void ShuffleStatement(int e)
    {
        switch (_random.Next(3))
        {
            case 0:
            {
                var below = AnyValueType();
                var top = AnyValueType();
                Expr(below, e);
                Expr(top, e);
                Swap();
                Drop();
                LocalSet(WritableLocal(top));
                break;
            }
            case 1:
            {
                var type = AnyValueType();
                Expr(type, e);
                Dup();
                LocalSet(WritableLocal(type));
                LocalSet(WritableLocal(type));
                break;
            }
            default:
                Expr(AnyValueType(), e);
                Drop();
                break;
        }
    }

    private void EarlyReturn(int e)
    {
        var skip = NewLabel("stay");
        Condition(e, rare: true);
        BrIfZ(skip);
        if (Chance(0.3)) Expr(AnyValueType(), 1);
        foreach (var result in _fn.Spec.Results) Expr(result, 1);
        Return();
        Place(skip);
    }

    private void TrapStatement(int e)
    {
        var skip = NewLabel("fine");
        if (Risky()) Condition(e, rare: true);
        else Const(0);
        BrIfZ(skip);
        Op("unreachable");
        Place(skip);
    }

    /// <summary>A singly linked list of [value, next] nodes ending in a sentinel, built in a loop, then walked.</summary>
    private void ListTemplate(int e)
    {
        var sentinel = Hidden(P);
        var head = Hidden(P);
        var node = Hidden(P);
        var i = Hidden(I, readable: true);
        var sum = Hidden(I);
        var build = NewLabel("build");
        var walk = NewLabel("walk");
        var done = NewLabel("walked");

        Const(2);
        Op("alloc");
        LocalTee(sentinel);
        LocalSet(head);
        Const(_random.Next(1, 60));
        LocalSet(i);
        Place(build);
        Const(2);
        Op("alloc");
        LocalTee(node);
        Const(0);
        _fn.LoopDepth++;
        ExprI64(Math.Min(e, 2));
        _fn.LoopDepth--;
        Op("store.i");
        LocalGet(node);
        Const(1);
        LocalGet(head);
        Op("store.p");
        LocalGet(node);
        LocalSet(head);
        LocalGet(i);
        Const(1);
        Op("i64.sub");
        LocalTee(i);
        Const(0);
        Op("i64.gt_s");
        BrIf(build);

        Const(0);
        LocalSet(sum);
        Place(walk);
        LocalGet(head);
        LocalGet(sentinel);
        Op("ptr.eq");
        BrIf(done);
        LocalGet(sum);
        Const(3);
        Op("i64.rotl");
        LocalGet(head);
        Const(0);
        Op("load.i");
        Op("i64.xor");
        LocalSet(sum);
        LocalGet(head);
        Const(1);
        Op("load.p");
        LocalSet(head);
        Br(walk);
        Place(done);
        LocalGet(sum);
        Consume(I);
    }

    /// <summary>A binary search tree of [key, left word, right word, parent ptr] nodes built in a loop.</summary>
    private void TreeTemplate(int e)
    {
        var root = Hidden(P);
        var current = Hidden(P);
        var node = Hidden(P);
        var side = Hidden(I);
        var key = Hidden(I);
        var i = Hidden(I, readable: true);
        var child = Hidden(W);
        var insert = NewLabel("insert");
        var descend = NewLabel("descend");
        var attach = NewLabel("attach");
        var climb = NewLabel("climb");
        var top = NewLabel("top");

        Const(4);
        Op("alloc");
        LocalSet(root);
        LocalGet(root);
        Const(0);
        ExprI64(Math.Min(e, 2));
        LocalTee(key);
        Op("store.i");
        LocalGet(root);
        Const(3);
        LocalGet(root);
        Op("store.p"); // the root is its own parent
        Const(_random.Next(1, 40));
        LocalSet(i);

        Place(insert);
        LocalGet(key);
        Const(6364136223846793005);
        Op("i64.mul");
        Const(1442695040888963407);
        Op("i64.add");
        LocalSet(key);
        Const(4);
        Op("alloc");
        LocalTee(node);
        Const(0);
        LocalGet(key);
        Const(40);
        Op("i64.shr_s");
        Op("store.i");
        LocalGet(root);
        LocalSet(current);
        Place(descend);
        LocalGet(node);
        Const(0);
        Op("load.i");
        LocalGet(current);
        Const(0);
        Op("load.i");
        Op("i64.lt_s");
        Const(2);
        Swap();
        Op("i64.sub");
        LocalSet(side); // 1 (left) when smaller, else 2 (right)
        LocalGet(current);
        LocalGet(side);
        Op("load.w");
        LocalTee(child);
        Op("isptr");
        BrIfZ(attach);
        LocalGet(child);
        Op("word.as_ptr");
        LocalSet(current);
        Br(descend);
        Place(attach);
        LocalGet(current);
        LocalGet(side);
        LocalGet(node);
        Op("word.of_ptr");
        Op("store.w");
        LocalGet(node);
        Const(3);
        LocalGet(current);
        Op("store.p");
        LocalGet(i);
        Const(1);
        Op("i64.sub");
        LocalTee(i);
        Const(0);
        Op("i64.gt_s");
        BrIf(insert);

        LocalGet(root);
        Call(_treeSum!);
        Consume(I);

        // The depth of the last node: follow parent pointers up to the root.
        Const(0);
        LocalSet(i);
        Place(climb);
        LocalGet(node);
        LocalGet(root);
        Op("ptr.eq");
        BrIf(top);
        LocalGet(node);
        Const(3);
        Op("load.p");
        LocalSet(node);
        LocalGet(i);
        Const(1);
        Op("i64.add");
        LocalSet(i);
        Br(climb);
        Place(top);
        LocalGet(i);
        Consume(I);
    }

    /// <summary>Consumes the value on top: prints it, keeps it in a local, or drops it.</summary>
    private void Consume(VmType type)
    {
        var roll = _random.Next(3);
        if (roll == 0 && _on.Print && type == I) Call(_imports[0]);
        else if (roll == 0 && _on.Print && type == F) Call(_imports[1]);
        else if (roll == 1) LocalSet(WritableLocal(type));
        else Drop();
    }

    private void ConsumeResults(VmType[] results)
    {
        for (var i = results.Length - 1; i >= 0; i--) Consume(results[i]);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Expressions: each pushes exactly one value of the requested type on top of whatever is there
    // ------------------------------------------------------------------------------------------------------------

    private void Expr(VmType type, int depth)
    {
        switch (type)
        {
            case I: ExprI64(depth); break;
            case F: ExprF64(depth); break;
            case P: ExprPtr(depth); break;
            default: ExprWord(depth); break;
        }
    }

    private bool IsLeaf(int depth) => depth <= 0 || _fn.Budget <= 0;

    private void ExprI64(int depth)
    {
        if (IsLeaf(depth))
        {
            LeafI64();
            return;
        }
        var d = depth - 1;
        Choose(
            (4, LeafI64),
            (6, () =>
            {
                ExprI64(d);
                ExprI64(d);
                Op(Pick("i64.add", "i64.sub", "i64.mul", "i64.and", "i64.or", "i64.xor"));
            }),
            (_on.Bits ? 2 : 0, () =>
            {
                ExprI64(d);
                if (Chance(0.5)) Const(Pick(0L, 1L, 7L, 31L, 32L, 63L, 64L, 65L, -1L, 127L));
                else ExprI64(d);
                Op(Pick("i64.shl", "i64.shr_s", "i64.shr_u", "i64.rotl", "i64.rotr"));
            }),
            (_on.Bits ? 2 : 0, () =>
            {
                ExprI64(d);
                Op(Pick("i64.clz", "i64.ctz", "i64.popcnt", "i64.eqz", "i64.extend8_s", "i64.extend16_s", "i64.extend32_s", "i64.extend32_u"));
            }),
            (_on.DivRem ? 3 : 0, () => DivRem(d)),
            (3, () => CompareI64(d)),
            (_on.Floats ? 2 : 0, () => CompareF64(d)),
            (_on.Conversions ? 2 : 0, () => Truncate(d)),
            (_on.Conversions ? 1 : 0, () =>
            {
                ExprF64(d);
                Op("i64.reinterpret_f64");
            }),
            (_on.StackOps ? 1 : 0, () => Select(I, d)),
            (_on.StackOps ? 1 : 0, () =>
            {
                ExprI64(d);
                Dup();
                Op(Pick("i64.mul", "i64.add", "i64.xor", "i64.sub", "i64.rotl"));
            }),
            (_on.StackOps ? 1 : 0, () =>
            {
                ExprI64(d);
                ExprI64(d);
                Swap();
                Op(Pick("i64.sub", "i64.shl", "i64.lt_s", "i64.gt_u"));
            }),
            (_on.StackOps ? 1 : 0, () =>
            {
                ExprI64(d);
                LocalTee(WritableLocal(I));
            }),
            (_on.Branches ? 2 : 0, () => IfExpr(I, d)),
            (_on.BrTable ? 1 : 0, () => SwitchExpr(I, d)),
            (_on.Loops && _fn.LoopDepth < 2 ? 1 : 0, () => LoopExpr(I, d)),
            (_on.Calls ? 3 : 0, () => CallExpr(I, d)),
            (_on.Indirect ? 1 : 0, () => IndirectExpr(I, d)),
            (_on.Heap ? 2 : 0, () =>
            {
                ExprPtr(d);
                Index(d);
                Op("load.i");
            }),
            (_on.Heap ? 1 : 0, () =>
            {
                ExprPtr(d);
                ByteIndex(d);
                Op("load.u8");
            }),
            (_on.Heap ? 1 : 0, () =>
            {
                var (load, width) = Pick(("load.s8", 1), ("load.u16", 2), ("load.s16", 2), ("load.u32", 4), ("load.s32", 4), ("load.u64", 8));
                ExprPtr(d);
                WideByteIndex(d, width);
                Op(load);
            }),
            (_on.Heap ? 1 : 0, () =>
            {
                // mem.compare of up to 16 bytes from byte 0 .. 15 of each array (at most 31 < 32 bytes).
                ExprPtr(d);
                WideByteIndex(d, 16);
                ExprPtr(d);
                WideByteIndex(d, 16);
                WideByteIndex(d, 16);
                Op("mem.compare");
            }),
            (_on.Ptrs ? 1 : 0, () =>
            {
                ExprPtr(d);
                Op("len");
            }),
            (_on.Ptrs ? 1 : 0, () =>
            {
                ExprPtr(d);
                Op("len.bytes");
            }),
            (_on.Ptrs ? 1 : 0, () =>
            {
                ExprPtr(d);
                if (Chance(0.5))
                {
                    Dup();
                }
                else
                {
                    ExprPtr(d);
                }
                Op("ptr.eq");
            }),
            (_data.Count > 0 ? 1 : 0, () => Op("data.size", _data[_random.Next(_data.Count)])),
            (_on.Words ? 1 : 0, () =>
            {
                ExprWord(d);
                Op("isptr");
            }),
            (_on.Words ? 2 : 0, () => WordAs(I, d)));
    }

    private void LeafI64()
    {
        var locals = Readable(I);
        var globals = _globals.Where(g => g.Type == I).ToList();
        Choose(
            (4, () => Const(IntegerConstant())),
            (locals.Count > 0 ? 5 : 0, () => LocalGet(locals[_random.Next(locals.Count)])),
            (globals.Count > 0 ? 2 : 0, () => GlobalGet(globals[_random.Next(globals.Count)].Name, I)));
    }

    private void DivRem(int d)
    {
        var op = Pick("i64.div_s", "i64.div_u", "i64.rem_s", "i64.rem_u");
        if (Risky())
        {
            // The divisor may be zero; MIN / -1 overflows.
            if (Chance(0.3)) Const(long.MinValue);
            else ExprI64(d);
            switch (_random.Next(4))
            {
                case 0: Const(0); break;
                case 1: Const(-1); break;
                case 2:
                    ExprI64(d);
                    Const(3);
                    Op("i64.and");
                    break;
                default: ExprI64(d); break;
            }
        }
        else
        {
            ExprI64(d);
            if (Chance(0.3))
            {
                Const(Pick(1L, 2L, 3L, 7L, 10L, 64L, 1000L, long.MaxValue, long.MinValue, -3L));
            }
            else
            {
                // 1 .. 256: never zero, never -1
                ExprI64(d);
                Const(255);
                Op("i64.and");
                Const(1);
                Op("i64.add");
            }
        }
        Op(op);
    }

    private void CompareI64(int d)
    {
        ExprI64(d);
        if (Chance(0.15))
        {
            Op("i64.eqz");
            return;
        }
        if (Chance(0.3)) Const(_random.Next(-5, 20));
        else ExprI64(d);
        Op(Pick("i64.eq", "i64.ne", "i64.lt_s", "i64.lt_u", "i64.gt_s", "i64.gt_u", "i64.le_s", "i64.le_u", "i64.ge_s", "i64.ge_u"));
    }

    private void CompareF64(int d)
    {
        ExprF64(d);
        ExprF64(d);
        Op(Pick("f64.eq", "f64.ne", "f64.lt", "f64.gt", "f64.le", "f64.ge"));
    }

    private void Truncate(int d)
    {
        if (Risky())
        {
            ExprF64(d); // NaN, infinities and values outside the i64 (or u64) range trap InvalidConversion
            Op(Pick("i64.trunc_f64_s", "i64.trunc_f64_u"));
            return;
        }
        if (Chance(0.5))
        {
            ExprF64(d);
            Op(Pick("i64.trunc_sat_f64_s", "i64.trunc_sat_f64_u"));
        }
        else if (Chance(0.3))
        {
            // |x * 0.5| < 2^62: always converts, unsigned too
            ExprI64(d);
            Op("f64.convert_i64_s");
            FloatConst("0.5");
            Op("f64.mul");
            Op("f64.abs");
            Op("i64.trunc_f64_u");
        }
        else
        {
            // |x * 0.5| < 2^62: always converts
            ExprI64(d);
            Op("f64.convert_i64_s");
            FloatConst("0.5");
            Op("f64.mul");
            if (Chance(0.5)) Op(Pick("f64.floor", "f64.ceil", "f64.nearest", "f64.trunc"));
            Op("i64.trunc_f64_s");
        }
    }

    private void Condition(int e, bool rare = false)
    {
        if (rare)
        {
            // Usually false: (x & 7) == 0 for some x, or a comparison.
            ExprI64(e);
            Const(Pick(7L, 15L, 3L));
            Op("i64.and");
            Op("i64.eqz");
            return;
        }
        if (Chance(0.6)) CompareI64(e);
        else ExprI64(e);
    }

    private void ExprF64(int depth)
    {
        if (IsLeaf(depth))
        {
            LeafF64();
            return;
        }
        var d = depth - 1;
        Choose(
            (4, LeafF64),
            (6, () =>
            {
                ExprF64(d);
                ExprF64(d);
                Op(Pick("f64.add", "f64.sub", "f64.mul", "f64.div", "f64.min", "f64.max", "f64.copysign"));
            }),
            (_on.Heap ? 1 : 0, () =>
            {
                ExprPtr(d);
                WideByteIndex(d, 8);
                Op("load.f64");
            }),
            (3, () =>
            {
                ExprF64(d);
                Op(Pick("f64.neg", "f64.abs", "f64.sqrt", "f64.floor", "f64.ceil", "f64.trunc", "f64.nearest"));
            }),
            (_on.Conversions ? 3 : 1, () =>
            {
                ExprI64(d);
                Op(Pick("f64.convert_i64_s", "f64.convert_i64_u"));
            }),
            (_on.Conversions ? 1 : 0, () =>
            {
                ExprI64(d);
                Op("f64.reinterpret_i64");
            }),
            (_on.StackOps ? 1 : 0, () => Select(F, d)),
            (_on.StackOps ? 1 : 0, () =>
            {
                ExprF64(d);
                Dup();
                Op(Pick("f64.mul", "f64.sub", "f64.div"));
            }),
            (_on.Branches ? 1 : 0, () => IfExpr(F, d)),
            (_on.BrTable ? 1 : 0, () => SwitchExpr(F, d)),
            (_on.Loops && _fn.LoopDepth < 2 ? 1 : 0, () => LoopExpr(F, d)),
            (_on.Calls ? 2 : 0, () => CallExpr(F, d)),
            (_on.Indirect ? 1 : 0, () => IndirectExpr(F, d)),
            (_on.Heap ? 2 : 0, () =>
            {
                ExprPtr(d);
                Index(d);
                Op("load.f");
            }),
            (_on.Words ? 1 : 0, () => WordAs(F, d)));
    }

    private void LeafF64()
    {
        var locals = Readable(F);
        var globals = _globals.Where(g => g.Type == F).ToList();
        Choose(
            (4, () => FloatConst()),
            (locals.Count > 0 ? 5 : 0, () => LocalGet(locals[_random.Next(locals.Count)])),
            (globals.Count > 0 ? 2 : 0, () => GlobalGet(globals[_random.Next(globals.Count)].Name, F)));
    }

    private void ExprPtr(int depth)
    {
        if (IsLeaf(depth))
        {
            LeafPtr();
            return;
        }
        var d = depth - 1;
        Choose(
            (5, LeafPtr),
            (_on.Heap ? 3 : 0, () => Allocate(d)),
            (_data.Count > 0 ? 2 : 0, () => Op("data.alloc", _data[_random.Next(_data.Count)])),
            (_on.StackOps ? 1 : 0, () => Select(P, d)),
            (_on.Branches ? 1 : 0, () => IfExpr(P, d)),
            (_on.Calls ? 2 : 0, () => CallExpr(P, d)),
            (_on.Indirect ? 1 : 0, () => IndirectExpr(P, d)),
            (_on.Words ? 1 : 0, () => WordAs(P, d)));
    }

    private void LeafPtr()
    {
        var locals = Readable(P);
        if (locals.Count == 0 || Chance(0.1)) locals = [NewLocal(P)];
        LocalGet(locals[_random.Next(locals.Count)]);
    }

    private void Allocate(int d)
    {
        if (Chance(0.25))
        {
            AllocateBytes(d);
            return;
        }
        if (Risky())
        {
            // Negative sizes trap OutOfBounds, huge ones OutOfMemory; small ones break the length invariant.
            if (Chance(0.5)) Const(Pick(-1L, long.MinValue, 1L << 40, 200_000L, 0L, 1L, 3L));
            else ExprI64(d);
        }
        else if (Chance(0.6))
        {
            Const(_random.Next(MinObjectWords, 13));
        }
        else
        {
            ExprI64(d);
            Const(7);
            Op("i64.and");
            Const(MinObjectWords);
            Op("i64.add");
        }
        Op("alloc");
    }

    /// <summary>alloc.bytes of a byte count that keeps the length invariant (at least MinObjectWords words: more than
    /// 8 × (MinObjectWords − 1) bytes), or, when risky, of a count that traps or breaks it.</summary>
    private void AllocateBytes(int d)
    {
        if (Risky())
        {
            // Negative counts trap OutOfBounds, huge ones OutOfMemory (2^63 - 1 bytes is 2^60 words).
            if (Chance(0.5)) Const(Pick(-1L, long.MinValue, long.MaxValue, 1L << 40, 0L, 7L, 9L));
            else ExprI64(d);
        }
        else if (Chance(0.6))
        {
            Const(_random.Next((MinObjectWords - 1) * 8 + 1, 13 * 8));
        }
        else
        {
            ExprI64(d);
            Const(63);
            Op("i64.and");
            Const((MinObjectWords - 1) * 8 + 1);
            Op("i64.add");
        }
        Op("alloc.bytes");
    }

    private void ExprWord(int depth)
    {
        if (IsLeaf(depth))
        {
            LeafWord();
            return;
        }
        var d = depth - 1;
        Choose(
            (4, LeafWord),
            (2, () =>
            {
                ExprI64(d);
                Op("word.of_i64");
            }),
            (_on.Floats ? 1 : 0, () =>
            {
                ExprF64(d);
                Op("word.of_f64");
            }),
            (_on.Ptrs ? 2 : 0, () =>
            {
                ExprPtr(d);
                Op("word.of_ptr");
            }),
            (_on.Heap ? 2 : 0, () =>
            {
                ExprPtr(d);
                Index(d);
                Op("load.w");
            }),
            (_on.StackOps ? 1 : 0, () => Select(W, d)),
            (_on.Branches ? 1 : 0, () => IfExpr(W, d)),
            (_on.Calls ? 1 : 0, () => CallExpr(W, d)));
    }

    private void LeafWord()
    {
        var locals = Readable(W);
        var globals = _globals.Where(g => g.Type == W).ToList();
        Choose(
            (2, () =>
            {
                Const(IntegerConstant());
                Op("word.of_i64");
            }),
            (locals.Count > 0 ? 5 : 0, () => LocalGet(locals[_random.Next(locals.Count)])),
            (globals.Count > 0 ? 2 : 0, () => GlobalGet(globals[_random.Next(globals.Count)].Name, W)));
    }

    /// <summary>Converts a word to <paramref name="type"/>, checking its tag first (unless this choice is risky).</summary>
    private void WordAs(VmType type, int d)
    {
        var convert = type switch { I => "word.as_i64", F => "word.as_f64", _ => "word.as_ptr" };
        ExprWord(d);
        if (Risky())
        {
            Op(convert);
            return;
        }
        _fn.WordScratch ??= Hidden(W);
        var scratch = _fn.WordScratch;
        var other = NewLabel("other");
        var end = NewLabel("converted");
        LocalTee(scratch);
        Op("isptr");
        if (type == P) BrIfZ(other);
        else BrIf(other);
        LocalGet(scratch);
        Op(convert);
        Br(end);
        Place(other);
        switch (type)
        {
            case I:
                LocalGet(scratch);
                Op("word.as_ptr");
                Op("len");
                break;
            case F:
                FloatConst();
                break;
            default:
                LeafPtr();
                break;
        }
        Place(end);
    }

    private void Select(VmType type, int d)
    {
        Expr(type, d);
        Expr(type, d);
        Condition(d);
        Pop(type, type, I);
        Push(type);
        Emit("select");
    }

    private void IfExpr(VmType type, int d)
    {
        var end = NewLabel("endif");
        Condition(d);
        if (Chance(0.5))
        {
            var otherwise = NewLabel("else");
            BrIfZ(otherwise);
            Expr(type, d);
            Br(end);
            Place(otherwise);
            Expr(type, d);
        }
        else
        {
            var then = NewLabel("then");
            BrIf(then);
            Expr(type, d);
            Br(end);
            Place(then);
            Expr(type, d);
        }
        Place(end);
    }

    private void SwitchExpr(VmType type, int d)
    {
        var (cases, fallback) = Dispatch(d);
        var end = NewLabel("endswitch");
        foreach (var label in cases)
        {
            Place(label);
            Expr(type, d);
            Br(end);
        }
        Place(fallback);
        Expr(type, d);
        Place(end);
    }

    /// <summary>A loop that carries an accumulator on the operand stack across its back edge.</summary>
    private void LoopExpr(VmType type, int d)
    {
        var counter = Hidden(I, readable: true);
        var head = NewLabel("fold");
        Expr(type, d);
        Const(_random.Next(1, 13));
        LocalSet(counter);
        Place(head);
        _fn.LoopDepth++;
        Expr(type, d);
        Op(type == I ? Pick("i64.add", "i64.xor", "i64.mul", "i64.sub") : Pick("f64.add", "f64.mul", "f64.min", "f64.sub"));
        _fn.LoopDepth--;
        LocalGet(counter);
        Const(1);
        Op("i64.sub");
        LocalTee(counter);
        Const(0);
        Op("i64.gt_s");
        BrIf(head);
    }

    private void CallExpr(VmType type, int d)
    {
        var callees = Callees().Where(c => c.Results.Contains(type)).ToList();
        if (callees.Count == 0)
        {
            Expr(type, 0);
            return;
        }
        var callee = callees[_random.Next(callees.Count)];
        Arguments(callee, d);
        Call(callee);
        KeepOne(callee.Results, type);
    }

    private void IndirectExpr(VmType type, int d)
    {
        var targets = IndirectTargets(type);
        if (targets.Count == 0)
        {
            Expr(type, 0);
            return;
        }
        var target = targets[_random.Next(targets.Count)];
        Arguments(target, d);
        FunctionReference(target, d);
        CallIndirect(target);
        KeepOne(target.Results, type);
    }

    /// <summary>Reduces the results of a call to one value of <paramref name="type"/> with drop and swap.</summary>
    private void KeepOne(VmType[] results, VmType type)
    {
        var candidates = Enumerable.Range(0, results.Length).Where(i => results[i] == type).ToList();
        var keep = candidates[_random.Next(candidates.Count)];
        for (var i = results.Length - 1; i > keep; i--) Drop();
        for (var i = 0; i < keep; i++)
        {
            Swap();
            Drop();
        }
    }

    /// <summary>Helpers this function may call directly: later helpers, and itself when recursive (outside loops).</summary>
    private List<FunctionSpec> Callees()
    {
        var spec = _fn.Spec;
        var callees = _helpers.Where(h => h.Order > spec.Order).ToList();
        if (spec.Recursive && _fn.LoopDepth == 0 && _fn.SelfCalls < 2) callees.Add(spec);
        return callees;
    }

    private List<FunctionSpec> IndirectTargets(VmType? result) =>
        [.. _helpers.Where(h => h.Order > _fn.Spec.Order && (result is null || h.Results.Contains(result.Value)))];

    private void Arguments(FunctionSpec callee, int d)
    {
        var self = callee == _fn.Spec;
        if (self) _fn.SelfCalls++;
        for (var i = 0; i < callee.Parameters.Length; i++)
        {
            if (callee.Recursive && i == 0)
            {
                if (self)
                {
                    LocalGet(_fn.Locals[0]);
                    if (!(_on.Unbounded && Chance(0.3)))
                    {
                        Const(1);
                        Op("i64.sub");
                    }
                }
                else
                {
                    Const(_on.Deep && Chance(0.3) ? _random.Next(150, 400) : _random.Next(0, 9));
                }
                continue;
            }
            Expr(callee.Parameters[i], d);
        }
    }

    /// <summary>Pushes a reference to <paramref name="target"/>, or (risky) to a function of another signature, or to nothing.</summary>
    private void FunctionReference(FunctionSpec target, int d)
    {
        if (Risky())
        {
            var all = _imports.Concat([_main]).Concat(_helpers).ToList();
            var wrong = all.Where(f => f.Signature != target.Signature).ToList();
            switch (_random.Next(wrong.Count > 0 ? 4 : 3))
            {
                case 0:
                    Const(_functionCount + _random.Next(0, 5));
                    break;
                case 1:
                    Const(Pick(-1L, long.MinValue, long.MaxValue, 1L << 32));
                    break;
                case 2:
                    ExprI64(d);
                    Const(15);
                    Op("i64.and");
                    break;
                default:
                    Op("func.ref", wrong[_random.Next(wrong.Count)].Name);
                    break;
            }
            return;
        }
        var same = _helpers.Where(h => h.Order > _fn.Spec.Order && h != target && h.Signature == target.Signature).ToList();
        if (same.Count > 0 && Chance(0.5))
        {
            Op("func.ref", target.Name);
            Op("func.ref", same[_random.Next(same.Count)].Name);
            Condition(Math.Min(d, 1));
            Pop(I, I, I);
            Push(I);
            Emit("select");
            return;
        }
        if (_on.TypedReferences && Chance(0.3))
        {
            // A typed reference is an i64 wherever one is expected (an i64 local, call_indirect, ref.cast).
            Push(I);
            Emit($"ref.func {target.Name}");
        }
        else
        {
            Op("func.ref", target.Name);
        }
        if (Chance(0.3)) LocalTee(WritableLocal(I));
    }

    private void Index(int d)
    {
        if (Risky())
        {
            if (Chance(0.5)) Const(_random.Next(-2, 14));
            else ExprI64(d);
        }
        else if (Chance(0.5))
        {
            Const(_random.Next(0, MinObjectWords));
        }
        else
        {
            ExprI64(d);
            Const(MinObjectWords - 1);
            Op("i64.and");
        }
    }

    private void ByteIndex(int d)
    {
        if (Risky())
        {
            if (Chance(0.5)) Const(_random.Next(-2, 110));
            else ExprI64(d);
        }
        else if (Chance(0.5))
        {
            Const(_random.Next(0, MinObjectWords * 8));
        }
        else
        {
            ExprI64(d);
            Const(MinObjectWords * 8 - 1);
            Op("i64.and");
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Locals
    // ------------------------------------------------------------------------------------------------------------

    private List<Local> Readable(VmType type) => [.. _fn.Locals.Where(l => l.Readable && l.Type == type)];

    private Local WritableLocal(VmType type)
    {
        var candidates = _fn.Locals.Where(l => l.Writable && l.Type == type).ToList();
        return candidates.Count == 0 || Chance(0.15) ? NewLocal(type) : candidates[_random.Next(candidates.Count)];
    }

    private Local NewLocal(VmType type)
    {
        var local = new Local($"l{_fn.Locals.Count}", type, Readable: true, Writable: true, Parameter: false);
        _fn.Locals.Add(local);
        return local;
    }

    /// <summary>A local that generated code never writes (and, unless <paramref name="readable"/>, never reads).</summary>
    private Local Hidden(VmType type, bool readable = false)
    {
        var local = new Local($"h{_fn.Locals.Count}", type, Readable: readable, Writable: false, Parameter: false);
        _fn.Locals.Add(local);
        return local;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Emitter with a type stack: every instruction, label join and return is checked
    // ------------------------------------------------------------------------------------------------------------

    private void Emit(string line)
    {
        if (!_fn.Reachable) throw Bug($"'{line}' follows an unconditional transfer without a label");
        _fn.Lines.Add("    " + line);
        _fn.Budget--;
    }

    private void Op(string mnemonic, string? operand = null)
    {
        if (!OpCodeTable.TryGet(mnemonic, out var info) || info.Pops is null || info.Pushes is null)
            throw Bug($"'{mnemonic}' is not an instruction with a fixed stack effect");
        if (info.Flow != FlowKind.Next && info.Flow != FlowKind.Trap) throw Bug($"'{mnemonic}' needs its own emitter");
        Pop(info.Pops);
        foreach (var type in info.Pushes) Push(type);
        Emit(operand is null ? mnemonic : $"{mnemonic} {operand}");
        if (info.Flow == FlowKind.Trap) _fn.Reachable = false;
    }

    private void Const(long value) => Op("i64.const", value.ToString(CultureInfo.InvariantCulture));

    private void FloatConst(string? literal = null) => Op("f64.const", literal ?? FloatLiteral());

    private void Pop(params VmType[] types)
    {
        var stack = _fn.Stack;
        if (stack.Count < types.Length) throw Bug($"stack underflow: need [{Types(types)}], have [{Types(stack)}]");
        for (var i = 0; i < types.Length; i++)
            if (stack[stack.Count - types.Length + i] != types[i])
                throw Bug($"type mismatch: need [{Types(types)}] on top of [{Types(stack)}]");
        stack.RemoveRange(stack.Count - types.Length, types.Length);
    }

    private void Push(VmType type) => _fn.Stack.Add(type);

    private VmType Top => _fn.Stack.Count > 0 ? _fn.Stack[^1] : throw Bug("the stack is empty");

    private void Drop()
    {
        Pop(Top);
        Emit("drop");
    }

    private void Dup()
    {
        Push(Top);
        Emit("dup");
    }

    private void Swap()
    {
        var stack = _fn.Stack;
        if (stack.Count < 2) throw Bug("swap needs two values");
        (stack[^1], stack[^2]) = (stack[^2], stack[^1]);
        Emit("swap");
    }

    private void LocalGet(Local local)
    {
        Push(local.Type);
        Emit($"local.get {local.Name}");
    }

    private void LocalSet(Local local)
    {
        Pop(local.Type);
        Emit($"local.set {local.Name}");
    }

    private void LocalTee(Local local)
    {
        Pop(local.Type);
        Push(local.Type);
        Emit($"local.tee {local.Name}");
    }

    private void GlobalGet(string name, VmType type)
    {
        Push(type);
        Emit($"global.get {name}");
    }

    private void GlobalSet(string name, VmType type)
    {
        Pop(type);
        Emit($"global.set {name}");
    }

    private void Call(FunctionSpec callee)
    {
        Pop(callee.Parameters);
        foreach (var type in callee.Results) Push(type);
        Emit($"call {callee.Name}");
    }

    /// <summary>call_indirect, or (with typed references) ref.cast and call_ref, which check the same things at the
    /// cast instead of the call.</summary>
    private void CallIndirect(FunctionSpec signature)
    {
        Pop([.. signature.Parameters, I]);
        foreach (var type in signature.Results) Push(type);
        if (_on.TypedReferences && Chance(0.5))
        {
            Emit($"ref.cast {signature.Signature}");
            Emit($"call_ref {signature.Signature}");
        }
        else
        {
            Emit($"call_indirect {signature.Signature}");
        }
    }

    /// <summary>
    /// Ends the function with a tail call to a callee whose results are exactly this function's (a later helper, or
    /// itself with the depth counter, whose unbounded form now loops until the fuel runs out instead of reaching the
    /// depth limit); through return_call_indirect sometimes. False when no callee has this function's results.
    /// </summary>
    private bool TailCall()
    {
        var results = _fn.Spec.Results;
        var candidates = Callees().Where(c => c.Results.SequenceEqual(results)).ToList();
        if (candidates.Count == 0) return false;
        var callee = candidates[_random.Next(candidates.Count)];
        Arguments(callee, _random.Next(1, 3));
        if (callee != _fn.Spec && _on.Indirect && Chance(0.4))
        {
            FunctionReference(callee, 1);
            Pop([.. callee.Parameters, I]);
            if (_on.TypedReferences && Chance(0.5))
            {
                Emit($"ref.cast {callee.Signature}");
                Emit($"return_call_ref {callee.Signature}");
            }
            else
            {
                Emit($"return_call_indirect {callee.Signature}");
            }
        }
        else
        {
            Pop(callee.Parameters);
            Emit($"return_call {callee.Name}");
        }
        _fn.Reachable = false;
        return true;
    }

    private void Return()
    {
        var results = _fn.Spec.Results;
        var stack = _fn.Stack;
        if (stack.Count < results.Length || !stack.Skip(stack.Count - results.Length).SequenceEqual(results))
            throw Bug($"return needs [{Types(results)}] on top of [{Types(stack)}]");
        Emit("return");
        _fn.Reachable = false;
    }

    private string NewLabel(string hint) => $"{hint}_{_fn.LabelCount++}";

    private void Br(string label)
    {
        Emit($"br {label}");
        Edge(label);
        _fn.Reachable = false;
    }

    private void BrIf(string label)
    {
        Pop(I);
        Emit($"br_if {label}");
        Edge(label);
    }

    private void BrIfZ(string label)
    {
        Pop(I);
        Emit($"br_ifz {label}");
        Edge(label);
    }

    private void BrTable(List<string> targets, string fallback)
    {
        Pop(I);
        Emit($"br_table ({string.Join(' ', targets)}) {fallback}");
        foreach (var target in targets) Edge(target);
        Edge(fallback);
        _fn.Reachable = false;
    }

    /// <summary>Records the operand stack a branch carries to <paramref name="label"/>, or checks it matches.</summary>
    private void Edge(string label)
    {
        if (_fn.LabelStacks.TryGetValue(label, out var recorded))
        {
            if (!recorded.SequenceEqual(_fn.Stack)) throw Bug($"branch to {label} carries [{Types(_fn.Stack)}] but it expects [{Types(recorded)}]");
        }
        else
        {
            if (_fn.Placed.Contains(label)) throw Bug($"backward branch to {label}, which was placed without a stack");
            _fn.LabelStacks[label] = [.. _fn.Stack];
        }
    }

    private void Place(string label)
    {
        if (!_fn.Placed.Add(label)) throw Bug($"label {label} placed twice");
        if (_fn.LabelStacks.TryGetValue(label, out var recorded))
        {
            if (_fn.Reachable && !recorded.SequenceEqual(_fn.Stack))
                throw Bug($"falling into {label} with [{Types(_fn.Stack)}] but branches bring [{Types(recorded)}]");
            _fn.Stack.Clear();
            _fn.Stack.AddRange(recorded);
        }
        else
        {
            if (!_fn.Reachable) throw Bug($"label {label} is reached by nothing");
            _fn.LabelStacks[label] = [.. _fn.Stack];
        }
        _fn.Reachable = true;
        _fn.Lines.Add(label + ":");
    }

    private InvalidOperationException Bug(string message) =>
        new($"ProgramGenerator bug (seed {_seed}, function {_fn.Spec.Name}): {message}");

    private static string Types(IEnumerable<VmType> types) => string.Join(' ', types.Select(t => t.Name()));

    // ------------------------------------------------------------------------------------------------------------
    // Randomness
    // ------------------------------------------------------------------------------------------------------------

    private bool Chance(double probability) => _random.NextDouble() < probability;

    /// <summary>True at this program's trap rate: the caller then makes a choice that may trap.</summary>
    private bool Risky() => _on.TrapPercent > 0 && _random.Next(100) < _on.TrapPercent;

    private T Pick<T>(params T[] options) => options[_random.Next(options.Length)];

    private void Shuffle<T>(List<T> list)
    {
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    private void Choose(params (int Weight, Action Action)[] options)
    {
        var total = options.Sum(o => o.Weight);
        var roll = _random.Next(total);
        foreach (var (weight, action) in options)
        {
            if (roll < weight)
            {
                action();
                return;
            }
            roll -= weight;
        }
        throw new InvalidOperationException("unreachable");
    }

    private long IntegerConstant() => _random.Next(10) switch
    {
        0 or 1 => InterestingIntegers[_random.Next(InterestingIntegers.Length)],
        2 => _random.NextInt64(long.MinValue, long.MaxValue),
        3 or 4 or 5 => _random.Next(-3, 4),
        _ => _random.Next(-100, 101),
    };

    private string FloatLiteral()
    {
        if (Chance(0.35)) return InterestingFloats[_random.Next(InterestingFloats.Length)];
        var magnitude = Math.Pow(10, _random.Next(-3, 20));
        var value = Math.Round((_random.NextDouble() - 0.5) * magnitude, _random.Next(0, 4));
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) || text.Contains('E', StringComparison.Ordinal) ? text : text + ".0";
    }

    // ------------------------------------------------------------------------------------------------------------
    // Model
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>Which feature groups this seed uses, and how often it makes choices that may trap.</summary>
    private sealed class Swarm
    {
        public Swarm(Random random)
        {
            bool On(double probability) => random.NextDouble() < probability;
            Floats = On(0.7);
            Conversions = Floats && On(0.6);
            Bits = On(0.7);
            DivRem = On(0.6);
            Globals = On(0.6);
            Branches = On(0.8);
            Loops = On(0.75);
            BrTable = On(0.5);
            Calls = On(0.85);
            Recursion = Calls && On(0.4);
            Deep = Recursion && On(0.3);
            Unbounded = Recursion && On(0.15);
            Indirect = On(0.5);
            Heap = On(0.6);
            Data = On(0.4);
            Words = On(0.5);
            Lists = Heap && On(0.35);
            StackOps = On(0.6);
            MultiResults = On(0.5);
            Print = On(0.9);
            TrapPercent = random.Next(5) switch { 0 or 1 => 0, 2 => 1, 3 => 3, _ => 8 };
            Tasks = Calls && On(0.5);
            TailCalls = Calls && On(0.5);
            TypedReferences = Indirect && On(0.5);
            Exceptions = On(0.5);
        }

        public bool Floats { get; }

        public bool Conversions { get; }

        public bool Bits { get; }

        public bool DivRem { get; }

        public bool Globals { get; }

        public bool Branches { get; }

        public bool Loops { get; }

        public bool BrTable { get; }

        public bool Calls { get; }

        public bool Recursion { get; }

        public bool Deep { get; }

        public bool Unbounded { get; }

        public bool Indirect { get; }

        public bool Heap { get; }

        public bool Data { get; }

        public bool Words { get; }

        public bool Lists { get; }

        public bool StackOps { get; }

        public bool MultiResults { get; }

        public bool Print { get; }

        public bool Tasks { get; }

        /// <summary>Functions may end in return_call or return_call_indirect (format version 3).</summary>
        public bool TailCalls { get; }

        /// <summary>Indirect calls may go through ref.cast and call_ref or return_call_ref, and references come from
        /// ref.func (format version 4).</summary>
        public bool TypedReferences { get; }

        /// <summary>Protected ranges with handlers, and conditional throws (format version 4, spec/exceptions.md).</summary>
        public bool Exceptions { get; }

        public int TrapPercent { get; }

        public bool Ptrs => Heap || Data;

        public override string ToString()
        {
            var on = new List<string>();
            foreach (var property in typeof(Swarm).GetProperties())
                if (property.PropertyType == typeof(bool) && property.Name != nameof(Ptrs) && (bool)property.GetValue(this)!)
                    on.Add(property.Name);
            return $"features: {string.Join(' ', on)}; trap rate {TrapPercent}%";
        }
    }

    private sealed record FunctionSpec(string Name, int Index, int Order, VmType[] Parameters, VmType[] Results, bool Recursive)
    {
        public string Signature => $"({Types(Parameters)}) -> ({Types(Results)})";
    }

    private sealed record Local(string Name, VmType Type, bool Readable, bool Writable, bool Parameter);

    /// <summary>The function being generated.</summary>
    private sealed class Fn(FunctionSpec spec)
    {
        public FunctionSpec Spec { get; } = spec;

        public List<Local> Locals { get; } = [];

        public List<string> Lines { get; } = [];

        public List<VmType> Stack { get; } = [];

        public Dictionary<string, VmType[]> LabelStacks { get; } = new(StringComparer.Ordinal);

        public HashSet<string> Placed { get; } = new(StringComparer.Ordinal);

        public List<(string Exit, string Next)> LoopLabels { get; } = [];

        public bool Reachable { get; set; } = true;

        public int LabelCount { get; set; }

        public int LoopDepth { get; set; }

        public int LoopProduct { get; set; } = 1;

        public int SelfCalls { get; set; }

        public int Budget { get; set; }

        public Local? WordScratch { get; set; }
    }
}
