namespace JitVm.Diagnostics;

/// <summary>
/// A call site packed into one word: the calling function's index (in the function index space) in the high 32
/// bits, the pc of its call instruction in the low 32. Both tiers record the site of every active call in
/// <c>Isolate.Sites[depth]</c>, so a trap's VM stack trace is rebuilt the same way whichever tier ran each frame.
/// </summary>
internal static class CallSites
{
    public static long Encode(int functionIndex, int pc) => ((long)functionIndex << 32) | (uint)pc;

    public static int Function(long site) => (int)(site >> 32);

    public static int Pc(long site) => (int)(uint)site;
}
