using JitVm.Diagnostics;
using JitVm.Memory;
using JitVm.Hosting;
using Xunit;

namespace JitVm.Lox.Tests;

/// <summary>What the code generator's shortcuts must not change (spec/lox.md §4): per-site caches of fields and
/// methods seeing other classes, other table layouts, fields added later and classes made again; classes
/// constructed inline; equalities decided at compile time. Every case runs in every tier and under GC and
/// deoptimisation stress, and its output is what clox prints for it.</summary>
public sealed class InlineCacheTests
{
    public static TheoryData<string, string> Configurations()
    {
        var data = new TheoryData<string, string>();
        foreach (var (name, _) in Cases)
            foreach (var configuration in new[] { "interpreter", "jit", "tiered", "gc-stress", "deopt-stress" })
                data.Add(name, configuration);
        return data;
    }

    private static IsolateOptions Options(string configuration) => configuration switch
    {
        "interpreter" => new IsolateOptions { Tier = ExecutionTier.Interpreter },
        "jit" => new IsolateOptions { Tier = ExecutionTier.Jit },
        "tiered" => new IsolateOptions { Tier = ExecutionTier.Tiered },
        "gc-stress" => new IsolateOptions
        {
            Tier = ExecutionTier.Jit,
            Diagnostics = new DiagnosticOptions { GcStress = GcStressMode.EveryAllocation, VerifyHeap = true },
        },
        _ => new IsolateOptions
        {
            Tier = ExecutionTier.Jit,
            Diagnostics = new DiagnosticOptions { DeoptStress = DeoptStressMode.EverySafepoint },
        },
    };

    /// <summary>Each case: its source, then the expected output; a runtime error's first line follows "error:".</summary>
    private static readonly (string Name, (string Source, string Expected) Case)[] Cases =
    [
        ("one invoke site, classes alternating", ("""
            class A { name() { return "A"; } }
            class B { name() { return "B"; } }
            class C < A {}
            fun show(x) { print x.name(); }
            for (var i = 0; i < 3; i = i + 1) { show(A()); show(B()); show(C()); }
            """, "A\nB\nA\nA\nB\nA\nA\nB\nA\n")),
        ("a field added later shadows the method at the same site", ("""
            class A { m() { return "method"; } }
            fun f() { return "field"; }
            fun call(x) { return x.m(); }
            var a = A();
            print call(a);
            print call(a);
            a.m = f;
            print call(a);
            print call(A());
            """, "method\nmethod\nfield\nmethod\n")),
        ("a field set in init shadows a method of this", ("""
            fun f() { return "field"; }
            class A {
              init(shadow) { if (shadow) this.m = f; }
              m() { return "method"; }
              both() { return this.m(); }
            }
            print A(false).both();
            print A(true).both();
            print A(false).both();
            """, "method\nfield\nmethod\n")),
        ("a class made again in a loop", ("""
            for (var i = 0; i < 3; i = i + 1) {
              class C { get() { return i; } twice() { return this.get() * 2; } }
              var c = C();
              print c.twice();
            }
            """, "0\n2\n4\n")),
        ("a global class declared twice", ("""
            class A { init() { this.v = 1; } get() { return "first"; } }
            var first = A();
            class A { init(v) { this.v = v; } get() { return "second"; } }
            var second = A(2);
            fun show(x) { print x.get(); print x.v; }
            show(first);
            show(second);
            show(first);
            """, "first\n1\nsecond\n2\nfirst\n1\n")),
        ("one field site, tables laid out differently", ("""
            class P {}
            fun fill(p, first) {
              if (first) { p.a = 1; p.b = 2; p.c = 3; p.d = 4; p.e = 5; p.f = 6; p.g = 7; p.h = 8; p.i = 9; p.j = 10; }
              else { p.j = 100; p.i = 90; p.h = 80; p.g = 70; p.f = 60; p.e = 50; p.d = 40; p.c = 30; p.b = 20; p.a = 10; }
              return p;
            }
            fun sum(p) { return p.a + p.b + p.c + p.d + p.e + p.f + p.g + p.h + p.i + p.j; }
            fun bump(p) { p.a = p.a + 1; p.j = p.j + 1; return p; }
            var x = fill(P(), true);
            var y = fill(P(), false);
            for (var k = 0; k < 3; k = k + 1) { print sum(bump(x)); print sum(bump(y)); }
            var small = P();
            small.a = 1;
            print sum(small);
            """, "57\n552\n59\n554\n61\n556\nerror:Undefined property 'b'.")),
        ("a field site that then sees a non-instance", ("""
            class P { init() { this.x = 1; } }
            fun get(p) { return p.x; }
            print get(P());
            print get(P());
            print get("text");
            """, "1\n1\nerror:Only instances have properties.")),
        ("an invoke site that then sees a missing method", ("""
            class A { m() { return 1; } }
            class B {}
            fun call(x) { return x.m(); }
            print call(A());
            print call(B());
            """, "1\nerror:Undefined property 'm'.")),
        ("an invoke site that then sees another arity", ("""
            class A { m() { return 1; } }
            class B { m(a) { return 2; } }
            fun call(x) { return x.m(); }
            print call(A());
            print call(B());
            """, "1\nerror:Expected 1 arguments but got 0.")),
        ("a method read as a value and a field read after it is set", ("""
            class A { m() { return this.v; } }
            fun read(x) { return x.v; }
            var a = A();
            a.v = "first";
            var bound = a.m;
            print bound();
            print read(a);
            a.v = "second";
            print bound();
            print read(a);
            """, "first\nfirst\nsecond\nsecond\n")),
        ("known classes constructed inline", ("""
            class Empty {}
            class Pair { init(a, b) { this.a = a; this.b = b; } sum() { return this.a + this.b; } }
            print Empty();
            print Pair(1, 2).sum();
            var made = 0;
            for (var i = 0; i < 100; i = i + 1) { if (Pair(i, i).sum() == 2 * i) made = made + 1; }
            print made;
            print Pair(1);
            """, "Empty instance\n3\n100\nerror:Expected 2 arguments but got 1.")),
        ("equalities known at compile time", ("""
            print "str" == "str";
            print "str" == "stru";
            print 1 == 1.0;
            print 1 == "1";
            print nil == nil;
            print nil == false;
            print true != false;
            print !nil;
            print !"";
            print !(1 == 2);
            1 == 1; "a" == "b"; nil; true;
            var s = "str";
            print s == "str";
            print (0 / 0) == (0 / 0);
            """, "true\nfalse\ntrue\nfalse\ntrue\nfalse\ntrue\ntrue\nfalse\ntrue\ntrue\nfalse\n")),
        ("an expression statement that can fail still runs", ("""
            var a = 1;
            a == undefinedGlobal;
            """, "error:Undefined variable 'undefinedGlobal'.")),
    ];

    [Theory]
    [MemberData(nameof(Configurations))]
    public void BehavesAsClox(string name, string configuration)
    {
        var (source, expected) = Cases.Single(c => c.Name == name).Case;
        var (code, output, error) = LoxSuite.Run(source, Options(configuration));
        var errorAt = expected.IndexOf("error:", StringComparison.Ordinal);
        if (errorAt < 0)
        {
            Assert.Equal("", error);
            Assert.Equal(0, code);
            Assert.Equal(expected, output);
            return;
        }
        Assert.Equal(expected[..errorAt], output);
        Assert.Equal(LoxProgram.RuntimeErrorExitCode, code);
        Assert.Equal(expected[(errorAt + "error:".Length)..], error.Split('\n')[0]);
    }
}
