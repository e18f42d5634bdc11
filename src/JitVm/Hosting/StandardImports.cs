using System.Globalization;
using System.Text;
using JitVm.Bytecode;

namespace JitVm.Hosting;

/// <summary>
/// The host functions that <c>jitvm run</c> and the conformance suite give every program (spec/execution.md):
/// <c>print_i64</c>, <c>print_f64</c>, <c>print_bytes</c> and <c>print_char</c>, writing to one output stream.
/// </summary>
public static class StandardImports
{
    /// <summary>Creates the standard imports writing to <paramref name="output"/>.</summary>
    public static IReadOnlyList<HostFunction> Create(Stream output)
    {
        // Tasks print from several worker threads: each write is whole (a printed number is one line), never torn.
        void Write(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            lock (output) output.Write(bytes);
        }

        void WriteBytes(ReadOnlySpan<byte> bytes)
        {
            lock (output) output.Write(bytes);
        }

        return
        [
            new HostFunction("print_i64", new FunctionType([VmType.I64], []),
                (_, values) => Write(values[0].ToString(CultureInfo.InvariantCulture) + "\n")),
            new HostFunction("print_f64", new FunctionType([VmType.F64], []),
                (_, values) => Write(Value.FormatF64(BitConverter.Int64BitsToDouble(values[0])) + "\n")),
            new HostFunction("print_char", new FunctionType([VmType.I64], []),
                (_, values) =>
                {
                    lock (output) output.WriteByte((byte)values[0]);
                }),
            new HostFunction("print_bytes", new FunctionType([VmType.Ptr, VmType.I64, VmType.I64], []),
                (isolate, values) =>
                {
                    var count = values[2];
                    if (count < 0) throw new Diagnostics.TrapException(Diagnostics.TrapCode.OutOfBounds, $"print_bytes was given a negative byte count {count}");
                    if (count == 0) return;
                    // The range is checked, then the size part paid, before any byte is written (execution.md §7).
                    var start = values[1];
                    // An untyped host function sees its ptr argument as a token (embedding.md §9).
                    var pointer = isolate.ResolveRawToken(values[0], "print_bytes's pointer");
                    var length = isolate.Heap.Length(pointer) * 8;
                    if ((ulong)start >= (ulong)length || (ulong)count > (ulong)(length - start))
                        throw new Diagnostics.TrapException(Diagnostics.TrapCode.OutOfBounds, $"bytes {start}..{start + count - 1} are outside the object's {length} bytes");
                    isolate.ChargeFuel(SizeFuel.For(count));
                    if (count <= 1 << 20)
                    {
                        Span<byte> buffer = count <= 256 ? stackalloc byte[(int)count] : new byte[count];
                        isolate.Heap.CopyBytes(pointer, start, buffer.Length, buffer, "print_bytes");
                        WriteBytes(buffer);
                        return;
                    }
                    // Larger prints go in chunks so one call cannot demand an unbounded buffer.
                    var chunk = new byte[1 << 16];
                    for (long done = 0; done < count;)
                    {
                        var n = (int)Math.Min(chunk.Length, count - done);
                        isolate.Heap.CopyBytes(pointer, start + done, n, chunk.AsSpan(0, n), "print_bytes");
                        WriteBytes(chunk.AsSpan(0, n));
                        done += n;
                    }
                }),
        ];
    }
}
