using System.Text;
using System.Text.RegularExpressions;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Verification;
using Xunit;

namespace JitVm.Tests.PublicApi;

/// <summary>
/// <see cref="Engine.Load(Stream, string?)"/> on hostile and broken input (spec/embedding.md §1.1): every problem with
/// the bytes is a <see cref="ModuleFormatException"/> naming the byte offset, a failure of the stream itself reaches
/// the caller unchanged, and nothing else escapes.
/// </summary>
public sealed partial class StreamLoadingTests
{
    private const string Source = """
        .import print_i64 (i64) -> ()
        .global counter i64 = 7
        .data greeting "hi\n"
        .func add (a: i64, b: i64) -> (i64) export
            local.get a
            local.get b
            i64.add
            return
        .end
        .func main () -> ()
            i64.const 2
            i64.const 3
            call add
            call print_i64
            return
        .end
        """;

    private static readonly Engine Engine = new();

    private static readonly byte[] Binary = Engine.LoadText(Source, "small.jvm").ToBinary();

    [GeneratedRegex("^byte 0x([0-9a-f]+)$")]
    private static partial Regex ByteLocation();

    /// <summary>The offset a format error names; fails unless it names one.</summary>
    private static int OffsetOf(ModuleFormatException error)
    {
        var match = ByteLocation().Match(error.Location ?? "");
        Assert.True(match.Success, $"no byte offset in: {error.Message}");
        Assert.Contains(error.Location!, error.Message, StringComparison.Ordinal);
        return Convert.ToInt32(match.Groups[1].Value, 16);
    }

    /// <summary>The offsets at which a binary module's sections start and end (a prefix ending at one of them is
    /// itself a module with fewer sections).</summary>
    private static HashSet<int> SectionBoundaries(byte[] bytes)
    {
        var boundaries = new HashSet<int> { 8 };
        var position = 8;
        while (position < bytes.Length)
        {
            position++;
            ulong length = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = bytes[position++];
                length |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) break;
            }
            position += (int)length;
            boundaries.Add(position);
        }
        Assert.Equal(bytes.Length, position);
        return boundaries;
    }

    [Fact]
    public void EveryTruncationIsAFormatErrorAtOrBeforeTheEndUnlessItEndsAtASectionBoundary()
    {
        var boundaries = SectionBoundaries(Binary);
        var formatErrors = 0;
        for (var length = 0; length < Binary.Length; length++)
        {
            var prefix = Binary.AsSpan(0, length).ToArray();
            foreach (var fromStream in new[] { true, false })
            {
                try
                {
                    var module = fromStream ? Engine.Load(new MemoryStream(prefix), "cut.jvmb") : Engine.LoadBinary(prefix, "cut.jvmb");
                    // Only whole sections can be missing from a module that loads; an empty stream is empty text.
                    Assert.True((length == 0 && fromStream) || boundaries.Contains(length), $"a {length}-byte prefix loaded");
                    if (length == 0) Assert.Empty(module.Definition.Functions);
                }
                catch (ModuleFormatException e)
                {
                    Assert.InRange(OffsetOf(e), 0, length);
                    Assert.StartsWith("cut.jvmb:byte 0x", e.Message, StringComparison.Ordinal);
                    formatErrors++;
                }
            }
        }
        Assert.True(formatErrors >= 2 * (Binary.Length - boundaries.Count), $"{formatErrors} format errors");
    }

    [Fact]
    public void ABinaryCutInsideItsMagicIsReportedAsAShortBinary()
    {
        for (var length = 1; length < 8; length++)
        {
            var e = Assert.Throws<ModuleFormatException>(() => Engine.Load(new MemoryStream(Binary[..length])));
            Assert.Equal("byte 0x0", e.Location);
            Assert.Contains($"the input is {length} bytes long", e.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void GarbageIsAFormatOrVerificationErrorAndNothingElse()
    {
        var random = new Random(20261201);
        var outcomes = new Dictionary<string, int>();
        for (var i = 0; i < 3_000; i++)
        {
            byte[] bytes;
            switch (i % 3)
            {
                case 0:
                    bytes = new byte[random.Next(0, 64)];
                    random.NextBytes(bytes);
                    break;
                case 1:
                    bytes = [.. Binary.AsSpan(0, 8), .. new byte[random.Next(0, 64)]];
                    random.NextBytes(bytes.AsSpan(8));
                    break;
                default:
                    bytes = (byte[])Binary.Clone();
                    for (var flips = random.Next(1, 4); flips > 0; flips--) bytes[random.Next(8, bytes.Length)] = (byte)random.Next(256);
                    break;
            }
            string outcome;
            try
            {
                Engine.Load(new MemoryStream(bytes));
                outcome = "loaded";
            }
            catch (ModuleFormatException e)
            {
                OffsetOrLine(e);
                outcome = "format";
            }
            catch (VerificationException)
            {
                outcome = "verification";
            }
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        Assert.True(outcomes.GetValueOrDefault("format") > 1_000, string.Join(", ", outcomes));
    }

    private static void OffsetOrLine(ModuleFormatException e)
    {
        Assert.NotNull(e.Location);
        Assert.Matches("^(byte 0x[0-9a-f]+|line [0-9]+.*)$", e.Location);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'a', (byte)'b', (byte)'c', 0xff, (byte)'d' }, "byte 0x3")]
    [InlineData(new byte[] { 0xc3 }, "byte 0x0")]
    [InlineData(new byte[] { (byte)';', (byte)' ', 0xe2, 0x82 }, "byte 0x2")]
    public void InvalidUtf8NamesTheFirstBadByte(byte[] bytes, string location)
    {
        var e = Assert.Throws<ModuleFormatException>(() => Engine.Load(new MemoryStream(bytes), "bad.jvm"));
        Assert.Equal(location, e.Location);
        Assert.Equal($"bad.jvm:{location}: {e.Detail}", e.Message);
        Assert.Contains("invalid UTF-8", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void WhateverTheStreamThrowsReachesTheCallerUnchanged()
    {
        Exception[] failures =
        [
            new IOException("disk gone"), new ObjectDisposedException("input"), new OperationCanceledException("stop"),
            new InvalidOperationException("odd"), new EndOfStreamException("short"), new NotSupportedException("no"),
        ];
        foreach (var failure in failures)
            foreach (var at in new[] { 0, 1, 8, Binary.Length / 2, Binary.Length - 1, Binary.Length })
            {
                var stream = new ScriptedStream(Binary) { FailAt = at, Failure = failure, Chunk = 7 };
                var thrown = Assert.ThrowsAny<Exception>(() => Engine.Load(stream));
                Assert.Same(failure, thrown);
                Assert.Equal(at, stream.Delivered);
            }
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(int.MaxValue)]
    public void AStreamReportingAnImpossibleCountIsAnIOException(int excess)
    {
        var stream = new ScriptedStream(Binary) { ReportedExcess = excess };
        var e = Assert.Throws<IOException>(() => Engine.Load(stream));
        Assert.StartsWith("the stream's Read returned ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ANonSeekableStreamThatReturnsFewBytesAtATimeLoadsTheSameModule()
    {
        foreach (var bytes in new[] { Binary, Encoding.UTF8.GetBytes(Source) })
            foreach (var chunk in new[] { 1, 3, 7, 4096 })
            {
                var module = Engine.Load(new ScriptedStream(bytes) { Chunk = chunk }, "small.jvm");
                Assert.Equal(Binary, module.ToBinary());
            }
    }

    [Fact]
    public void AStreamIsReadFromItsPositionAndLeftOpen()
    {
        var stream = new MemoryStream([.. "junk"u8, .. Binary]) { Position = 4 };
        Assert.Equal(Binary, Engine.Load(stream).ToBinary());
        Assert.Equal(stream.Length, stream.Position);
        Assert.True(stream.CanRead, "the stream was closed");
    }

    [Fact]
    public void AStreamThatCannotBeReadIsAnArgumentError()
    {
        var e = Assert.Throws<ArgumentException>(() => Engine.Load(new ScriptedStream(Binary) { Readable = false }));
        Assert.Equal("stream", e.ParamName);
        Assert.Equal("stream", Assert.Throws<ArgumentNullException>(() => Engine.Load((Stream)null!)).ParamName);
    }

    [Fact]
    public void AStreamsClaimedLengthIsNotTrusted()
    {
        Assert.Equal(Binary, Engine.Load(new ScriptedStream(Binary) { Seekable = true, ClaimedLength = long.MaxValue }).ToBinary());
        Assert.Equal(Binary, Engine.Load(new ScriptedStream(Binary) { Seekable = true, ClaimedLength = 3 }).ToBinary());
    }

    [Theory]
    [InlineData(new byte[] { 1, 0xff, 0xff, 0xff, 0xff, 0x0f }, "byte 0x9", "section length 4294967295 exceeds the limit of 2147483647")]
    [InlineData(new byte[] { 1, 0xfe, 0xff, 0xff, 0xff, 0x07 }, "byte 0x9", "section length 2147483646 is larger than the 0 bytes that remain")]
    [InlineData(new byte[] { 1, 0x0b, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0 }, "byte 0xa", "signature count 9223372036854775808 exceeds the limit of 1000000")]
    [InlineData(new byte[] { 1, 0x05, 0x80, 0x80, 0x80, 0x80, 0x01 }, "byte 0xa", "signature count 268435456 exceeds the limit of 1000000")]
    [InlineData(new byte[] { 1, 0x03, 0xc0, 0x84, 0x3d }, "byte 0xa", "signature count 1000000 is larger than the 0 bytes that remain")]
    [InlineData(new byte[] { 1, 0x0b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0 }, "byte 0xa", "unsigned LEB128 value overflows 64 bits")]
    public void AHugeDeclaredSizeIsAFormatErrorBeforeAnythingIsAllocated(byte[] afterHeader, string location, string detail)
    {
        var e = Assert.Throws<ModuleFormatException>(() => Engine.Load(new MemoryStream([.. Binary.AsSpan(0, 8), .. afterHeader])));
        Assert.Equal(location, e.Location);
        Assert.Equal(detail, e.Detail);
    }

    [Fact]
    public void InputOverTheEnginesLimitIsAFormatErrorAndTheStreamIsReadOneBytePastIt()
    {
        var limited = new Engine(new EngineOptions { MaxModuleBytes = 64 });
        var endless = new ScriptedStream(null) { Chunk = 5 };
        var e = Assert.Throws<ModuleFormatException>(() => limited.Load(endless, "big.jvm"));
        Assert.Equal("byte 0x40", e.Location);
        Assert.Equal("the module is longer than 64 bytes, the most this engine loads (EngineOptions.MaxModuleBytes)", e.Detail);
        Assert.Equal(65, endless.Delivered);

        var exactly = Encoding.UTF8.GetBytes(".func f ()\n    return\n.end\n".PadRight(64, ' '));
        Assert.Single(limited.Load(new MemoryStream(exactly)).Definition.Functions);
        Assert.Throws<ModuleFormatException>(() => limited.LoadBinary(new byte[65]));
        Assert.Throws<ModuleFormatException>(() => new Engine(new EngineOptions { MaxModuleBytes = Binary.Length - 1 }).LoadBinary(Binary));
        Assert.NotNull(new Engine(new EngineOptions { MaxModuleBytes = Binary.Length }).LoadBinary(Binary));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EngineOptions { MaxModuleBytes = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new EngineOptions { MaxModuleBytes = Array.MaxLength + 1 });
    }

    [Fact]
    public void LoadFileAppliesTheLimitAndTheSameDecoding()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("jitvm-load-").FullName, "small.jvmb");
        try
        {
            File.WriteAllBytes(path, Binary);
            Assert.Equal(Binary, Engine.LoadFile(path).ToBinary());
            var e = Assert.Throws<ModuleFormatException>(() => new Engine(new EngineOptions { MaxModuleBytes = 10 }).LoadFile(path));
            Assert.Equal("small.jvmb:byte 0xa: " + e.Detail, e.Message);
            File.WriteAllBytes(path, Binary[..9]);
            Assert.Equal("small.jvmb", Assert.Throws<ModuleFormatException>(() => Engine.LoadFile(path)).Source);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, true);
        }
    }

    /// <summary>
    /// A stream that hands out <c>bytes</c> (endless spaces when null) in chunks, and can fail, misreport its count,
    /// refuse to be read, or claim a length it does not have.
    /// </summary>
    private sealed class ScriptedStream(byte[]? bytes) : Stream
    {
        private int _position;

        public int Chunk { get; init; } = int.MaxValue;

        public int FailAt { get; init; } = -1;

        public Exception? Failure { get; init; }

        public int ReportedExcess { get; init; }

        public bool Readable { get; init; } = true;

        public bool Seekable { get; init; }

        public long ClaimedLength { get; init; }

        public int Delivered => _position;

        public override bool CanRead => Readable;

        public override bool CanSeek => Seekable;

        public override bool CanWrite => false;

        public override long Length => Seekable ? ClaimedLength : throw new NotSupportedException();

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (!Readable) throw new NotSupportedException();
            if (Failure is not null && _position >= FailAt) throw Failure;
            var available = bytes is null ? int.MaxValue : bytes.Length - _position;
            var n = Math.Min(Math.Min(count, Chunk), available);
            if (Failure is not null) n = Math.Min(n, FailAt - _position);
            if (bytes is null) buffer.AsSpan(offset, n).Fill((byte)' ');
            else bytes.AsSpan(_position, n).CopyTo(buffer.AsSpan(offset));
            _position += n;
            return ReportedExcess == 0 ? n : ReportedExcess < 0 ? ReportedExcess : (int)Math.Min(int.MaxValue, (long)count + ReportedExcess);
        }

        public override void Flush() { }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
