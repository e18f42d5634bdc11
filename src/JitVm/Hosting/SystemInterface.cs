using System.Diagnostics;
using System.Security.Cryptography;
using JitVm.Bytecode;
using JitVm.Diagnostics;

namespace JitVm.Hosting;

/// <summary>
/// The standard system interface (spec/system-interface.md): host functions named <c>sys.*</c> that give a program
/// its arguments, and, each only when <see cref="SystemInterfaceOptions"/> grants it, the environment, standard
/// input, clocks, random bytes and the files of one directory; <c>sys.exit</c> ends the run with an exit code.
/// </summary>
/// <remarks>Every access to VM memory goes through the checks VM code obeys: bounds and tags are checked (a word
/// holding a pointer is never read or written as bytes) and the copy is paid for in fuel before it is made, as
/// <c>print_bytes</c> does. Strings given to and returned by these functions are VM strings (spec/embedding.md §9.2):
/// word 0 holds the byte length n, bytes 8 to 8 + n - 1 the bytes.</remarks>
public static partial class SystemInterface
{
    /// <summary>The <c>sys.*</c> host functions under <paramref name="options"/>; give them to an isolate or a
    /// <see cref="Linker"/> with any other host functions.</summary>
    public static IReadOnlyList<HostFunction> Create(SystemInterfaceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var arguments = options.Arguments.Select(a => (byte[])a.Clone()).ToArray();
        var environment = options.Environment is null ? null : new Dictionary<string, string>(options.Environment, StringComparer.Ordinal);
        var root = options.Directory is null ? null : GrantedRoot(options.Directory);
        var stdin = options.Stdin;
        return
        [
            Function("sys.arg_count", [], [VmType.I64], (_, values) => values[0] = arguments.Length),
            Function("sys.arg", [VmType.I64], [VmType.Ptr], (isolate, values) =>
            {
                var index = values[0];
                if ((ulong)index >= (ulong)arguments.Length)
                    throw new TrapException(TrapCode.OutOfBounds, $"sys.arg: argument {index} does not exist (the program has {arguments.Length})");
                values[0] = NewString(isolate, arguments[index]);
            }),
            Function("sys.env", [VmType.Ptr], [VmType.I64, VmType.Ptr], (isolate, values) =>
            {
                if (environment is null) throw Denied("sys.env", "the environment", "--env", nameof(SystemInterfaceOptions.Environment));
                var name = System.Text.Encoding.UTF8.GetString(ReadString(isolate, values[0], "sys.env"));
                var found = environment.TryGetValue(name, out var value);
                values[0] = found ? 1 : 0;
                values[1] = NewString(isolate, found ? System.Text.Encoding.UTF8.GetBytes(value!) : []);
            }),
            Function("sys.read_stdin", [VmType.Ptr, VmType.I64, VmType.I64], [VmType.I64], (isolate, values) =>
            {
                if (stdin is null) throw Denied("sys.read_stdin", "standard input", "--stdin", nameof(SystemInterfaceOptions.Stdin));
                var (pointer, start, count) = ByteRange(isolate, values, "sys.read_stdin");
                if (count == 0)
                {
                    values[0] = 0;
                    return;
                }
                var buffer = new byte[(int)Math.Min(count, 1 << 16)];
                var read = stdin.Read(buffer);
                isolate.Heap.WriteBytes(pointer, start, buffer.AsSpan(0, read), "sys.read_stdin");
                values[0] = read;
            }),
            Function("sys.exit", [VmType.I64], [], (_, values) =>
            {
                if (values[0] is < 0 or > 255) throw new TrapException(TrapCode.HostError, $"sys.exit: exit code {values[0]} is not from 0 to 255");
                throw new ProgramExitException((int)values[0]);
            }),
            Function("sys.clock_monotonic", [], [VmType.I64], (_, values) =>
            {
                if (!options.Clock) throw Denied("sys.clock_monotonic", "the clocks", "--clock", nameof(SystemInterfaceOptions.Clock));
                values[0] = (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));
            }),
            Function("sys.clock_wall", [], [VmType.I64], (_, values) =>
            {
                if (!options.Clock) throw Denied("sys.clock_wall", "the clocks", "--clock", nameof(SystemInterfaceOptions.Clock));
                values[0] = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
            }),
            Function("sys.random", [VmType.Ptr, VmType.I64, VmType.I64], [], (isolate, values) =>
            {
                if (!options.Random) throw Denied("sys.random", "random bytes", "--random", nameof(SystemInterfaceOptions.Random));
                var (pointer, start, count) = ByteRange(isolate, values, "sys.random");
                var buffer = new byte[count];
                RandomNumberGenerator.Fill(buffer);
                isolate.Heap.WriteBytes(pointer, start, buffer, "sys.random");
            }),
            Function("sys.file_read", [VmType.Ptr], [VmType.I64, VmType.Ptr], (isolate, values) =>
            {
                if (root is null) throw Denied("sys.file_read", "files", "--dir PATH", nameof(SystemInterfaceOptions.Directory));
                var path = Resolve(root, ReadString(isolate, values[0], "sys.file_read"), "sys.file_read");
                var contents = ReadFile(isolate, path);
                values[0] = contents is null ? 0 : 1;
                values[1] = NewString(isolate, contents ?? []);
            }),
            Function("sys.file_write", [VmType.Ptr, VmType.Ptr, VmType.I64, VmType.I64], [VmType.I64], (isolate, values) =>
            {
                if (root is null) throw Denied("sys.file_write", "files", "--dir PATH", nameof(SystemInterfaceOptions.Directory));
                var path = Resolve(root, ReadString(isolate, values[0], "sys.file_write"), "sys.file_write");
                var (pointer, start, count) = ByteRange(isolate, values[1..], "sys.file_write");
                var bytes = new byte[count];
                isolate.Heap.CopyBytes(pointer, start, count, bytes, "sys.file_write");
                values[0] = WriteFile(path, bytes) ? 1 : 0;
            }),
        ];
    }

    private static HostFunction Function(string name, VmType[] parameters, VmType[] results, HostCallback callback) =>
        new(name, new FunctionType(parameters, results), callback);

    private static TrapException Denied(string function, string what, string flag, string option) =>
        new(TrapCode.HostError, $"{function}: the program was not granted {what} (jitvm run {flag}; SystemInterfaceOptions.{option})");

    /// <summary>The object, start and count of a (ptr, start, count) byte range of the program's, checked against the
    /// object and paid for (1 fuel per 8 bytes) before anything is copied.</summary>
    private static (long Pointer, long Start, int Count) ByteRange(Isolate isolate, ReadOnlySpan<long> values, string function)
    {
        var pointer = isolate.ResolveRawToken(values[0], $"{function}'s pointer");
        var (start, count) = (values[1], values[2]);
        if (count < 0) throw new TrapException(TrapCode.OutOfBounds, $"{function} was given a negative byte count {count}");
        var length = isolate.Heap.Length(pointer) * 8;
        if (count > 0 && ((ulong)start >= (ulong)length || (ulong)count > (ulong)(length - start)))
            throw new TrapException(TrapCode.OutOfBounds, $"{function}: bytes {start}..{start + count - 1} are outside the object's {length} bytes");
        if (count > Array.MaxLength) throw new TrapException(TrapCode.OutOfBounds, $"{function}: {count} bytes are more than one call can move");
        isolate.ChargeFuel(SizeFuel.For(count));
        return (pointer, start, (int)count);
    }

    /// <summary>The bytes of the VM string a (ptr) argument names: word 0 its byte length n, bytes 8.. its bytes.</summary>
    private static byte[] ReadString(Isolate isolate, long token, string function)
    {
        var pointer = isolate.ResolveRawToken(token, $"{function}'s string");
        var length = isolate.Heap.Length(pointer) * 8;
        if (length < 8) throw new TrapException(TrapCode.OutOfBounds, $"{function}: a string has its byte length in word 0, but the object has no words");
        Span<byte> header = stackalloc byte[8];
        isolate.Heap.CopyBytes(pointer, 0, 8, header, function);
        var count = BitConverter.ToInt64(header);
        if (count < 0 || count > length - 8)
            throw new TrapException(TrapCode.OutOfBounds, $"{function}: the string's length {count} (word 0) does not fit in its object's {length - 8} bytes after word 0");
        isolate.ChargeFuel(SizeFuel.For(count));
        var bytes = new byte[count];
        if (count > 0) isolate.Heap.CopyBytes(pointer, 8, count, bytes, function);
        return bytes;
    }

    /// <summary>A new VM string holding <paramref name="bytes"/>, as the token a ptr result must be.</summary>
    private static long NewString(Isolate isolate, ReadOnlySpan<byte> bytes)
    {
        isolate.ChargeFuel(SizeFuel.For(bytes.Length));
        using var handle = isolate.AllocateString(bytes);
        return handle.Value.Bits;
    }
}
