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

    /// <summary>Each case: its source, then the expected output; a runtime error's first line, or its whole message
    /// with the trace, follows "error:".</summary>
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
        ("methods answered without a call: a field, this, nil, a literal", ("""
            class A {
              init(set) { if (set) this.x = "field x"; }
              get() { return this.x; }
              x() { return "method x"; }
              me() { return this; }
              none() {}
              bare() { return; }
              three() { return 3; }
              yes() { return true; }
            }
            class B < A {}
            fun get(a) { return a.get(); }
            var withField = A(true);
            var without = A(false);
            for (var i = 0; i < 2; i = i + 1) {
              print get(withField);
              print get(without);
              print get(B(true));
              print without.me() == without;
              print without.none();
              print without.bare();
              print withField.three() + 1;
              print B(false).yes();
            }
            """, string.Concat(Enumerable.Repeat("field x\n<fn x>\nfield x\ntrue\nnil\nnil\n4\ntrue\n", 2)))),
        ("a field answered without a call, tables laid out differently, then missing", ("""
            class P {}
            class A {
              get() { return this.v; }
            }
            fun fill(p, first) {
              if (first) { p.a = 1; p.b = 2; p.c = 3; p.d = 4; p.e = 5; p.f = 6; p.g = 7; p.h = 8; p.i = 9; p.v = 10; }
              else { p.v = 100; p.a = 10; }
              return p;
            }
            fun get(x) { return x.get(); }
            var x = fill(A(), true);
            var y = fill(A(), false);
            for (var k = 0; k < 3; k = k + 1) { print get(x); print get(y); }
            print get(A());
            """, "10\n100\n10\n100\n10\n100\nerror:Undefined property 'v'.\n[line 3] in get()\n[line 10] in get()\n[line 14] in script")),
        ("a method answered without a call, with the wrong arity", ("""
            class A { get() { return this.v; } none() {} }
            var a = A();
            a.v = 1;
            print a.get();
            print a.none(1);
            """, "1\nerror:Expected 0 arguments but got 1.\n[line 5] in script")),
        ("a method answered without a call, on a non-instance", ("""
            class A { none() {} }
            fun call(x) { return x.none(); }
            print call(A());
            print call("text");
            """, "nil\nerror:Only instances have methods.\n[line 2] in call()\n[line 4] in script")),
        ("a method answered without a call, on a class without it", ("""
            class A { none() {} }
            class B {}
            fun call(x) { return x.none(); }
            print call(A());
            print call(B());
            """, "nil\nerror:Undefined property 'none'.\n[line 3] in call()\n[line 5] in script")),
        ("a field shadowing a method that returns this", ("""
            fun f() { return "field"; }
            class A { me() { return this; } }
            fun call(x) { return x.me(); }
            var a = A();
            print call(a) == a;
            a.me = f;
            print call(a);
            print call(A()) == a;
            """, "true\nfield\nfalse\n")),
        ("methods answered without a call, classes made again", ("""
            for (var i = 0; i < 3; i = i + 1) {
              class C { init() { this.v = i; } get() { return this.v; } }
              print C().get();
            }
            class D { get() { return 1; } }
            class D { get() { return 2; } }
            print D().get();
            """, "0\n1\n2\n2\n")),
        ("fields made by a store site's cache miss, the table growing", ("""
            class Many {
              init(base) {
                this.f0 = base; this.f1 = base + 1; this.f2 = base + 2; this.f3 = base + 3; this.f4 = base + 4;
                this.f5 = base + 5; this.f6 = base + 6; this.f7 = base + 7; this.f8 = base + 8; this.f9 = base + 9;
                this.f10 = base + 10; this.f11 = base + 11; this.f12 = base + 12; this.f13 = base + 13; this.f14 = base + 14;
                this.f0 = this.f0 + 100; this.f14 = this.f14 + 100;
              }
              sum() { return this.f0 + this.f1 + this.f2 + this.f3 + this.f4 + this.f5 + this.f6 + this.f7 + this.f8 + this.f9 + this.f10 + this.f11 + this.f12 + this.f13 + this.f14; }
            }
            for (var i = 0; i < 3; i = i + 1) print Many(i * 10).sum();
            fun put(x, v) { x.f7 = v; return x.f7; }
            print put(Many(0), "seven");
            print put("text", 1);
            """, "305\n455\n605\nseven\nerror:Only instances have fields.\n[line 11] in put()\n[line 13] in script")),
        ("empty initialisers not called, their arguments still evaluated", ("""
            class Empty { init() {} }
            class Ignores { init(a, b) { return; } }
            var n = 0;
            fun count() { n = n + 1; return n; }
            print Empty();
            print Ignores(count(), count());
            print n;
            print Ignores(1);
            """, "Empty instance\nIgnores instance\n2\nerror:Expected 2 arguments but got 1.\n[line 8] in script")),
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
        // An expected error of several lines is the whole message with its trace, else only its first line.
        var expectedError = expected[(errorAt + "error:".Length)..];
        Assert.Equal(expectedError, expectedError.Contains('\n') ? error.TrimEnd('\n') : error.Split('\n')[0]);
    }
}
