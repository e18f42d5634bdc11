using System.Text;
using JitVm.Diagnostics;

namespace JitVm.Hosting;

/// <summary>The files of the granted directory: how a program's path is turned into a host path that cannot leave it.</summary>
public static partial class SystemInterface
{
    /// <summary>The granted directory as a full path without symbolic links in it (they are resolved once, here, so
    /// the containment check below compares real paths).</summary>
    private static string GrantedRoot(string directory)
    {
        var full = Path.GetFullPath(directory);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"the directory granted to the program does not exist: '{directory}'");
        var info = new DirectoryInfo(full);
        var real = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
        return Path.TrimEndingDirectorySeparator(real);
    }

    /// <summary>
    /// The host path of program path <paramref name="utf8"/> under <paramref name="root"/>. The path must be valid
    /// UTF-8, relative, use <c>/</c> between its parts, and have no empty, <c>..</c> or NUL-holding part; no part of it
    /// that exists may be a symbolic link. Anything else traps <c>HostError</c>: a program cannot name a file outside
    /// the directory, only fail to.
    /// </summary>
    /// <remarks>Checking the parts and then opening the file leaves a window in which another process could swap a
    /// directory for a link; the directory granted should not be writable by anyone the program must be kept from.</remarks>
    private static string Resolve(string root, byte[] utf8, string function)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(utf8);
        }
        catch (DecoderFallbackException)
        {
            throw Refused(function, "", "is not valid UTF-8");
        }
        if (text.Length == 0) throw Refused(function, text, "is empty");
        if (text.Contains('\0')) throw Refused(function, text, "holds a NUL character");
        if (text.Contains('\\')) throw Refused(function, text, "holds a backslash; parts of a path are separated by '/'");
        if (text.StartsWith('/') || Path.IsPathRooted(text)) throw Refused(function, text, "is absolute; paths are relative to the granted directory");
        var parts = text.Split('/');
        foreach (var part in parts)
            if (part.Length == 0 || part == "..")
                throw Refused(function, text, part.Length == 0 ? "has an empty part" : "has a '..' part, which could leave the granted directory");
        var current = root;
        foreach (var part in parts)
        {
            if (part == ".") continue;
            current = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
            if (info.LinkTarget is not null) throw Refused(function, text, $"goes through the symbolic link '{part}'");
        }
        var full = Path.GetFullPath(current);
        // Belt and braces: after the part checks the path cannot be outside, and this says so again.
        if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw Refused(function, text, "is outside the granted directory");
        return full;
    }

    private static TrapException Refused(string function, string path, string why) =>
        new(TrapCode.HostError, $"{function}: the path {Printable.Quote(path)} {why}");

    /// <summary>The file's bytes, or null when it does not exist or cannot be read. A file larger than the heap limit
    /// traps <c>OutOfMemory</c> before it is read, so a program cannot make the host read more than it could hold.</summary>
    private static byte[]? ReadFile(Isolate isolate, string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) return null;
            if (info.Length > isolate.Heap.LimitBytes)
                throw new TrapException(TrapCode.OutOfMemory, $"sys.file_read: the file has {info.Length} bytes, more than the heap limit of {isolate.Heap.LimitBytes} bytes");
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Writes the file whole (creating or replacing it); false when it cannot be written.</summary>
    private static bool WriteFile(string path, byte[] bytes)
    {
        try
        {
            File.WriteAllBytes(path, bytes);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
