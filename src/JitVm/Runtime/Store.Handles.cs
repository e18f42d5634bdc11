using JitVm.Hosting;
using JitVm.Memory;

namespace JitVm.Runtime;

/// <summary>Handles: the host's references to heap objects, roots the collector updates as objects move.</summary>
internal sealed partial class Store
{
    /// <summary>The pointer each live handle holds (0 for a free slot).</summary>
    internal long[] HandleSlots = [];

    // Made at the first freed handle and the first scope: most stores (every task's) never have either.
    private Stack<int>? _freeHandles;
    private int _handleCount;
    private List<HandleScope>? _scopes;

    /// <summary>Counts resets: a <see cref="Handle"/> of an earlier generation is disposed.</summary>
    internal int HandleGeneration;

    /// <summary>Frees every handle at once (a reset or dispose of the isolate): handles made before are disposed.</summary>
    private void FreeAllHandles()
    {
        HandleGeneration++;
        HandleSlots = [];
        _handleCount = 0;
        _freeHandles = null;
        _scopes = null;
    }

    /// <summary>Opens a scope: handles created until it is disposed are disposed with it.</summary>
    public HandleScope OpenHandleScope()
    {
        _scopes ??= [];
        var scope = new HandleScope(Owner, _scopes.Count);
        _scopes.Add(scope);
        return scope;
    }

    internal void CloseHandleScope(HandleScope scope, int depth)
    {
        if (_scopes is null || depth >= _scopes.Count || _scopes[depth] != scope) return;
        for (var i = _scopes.Count - 1; i >= depth; i--)
        {
            foreach (var handle in _scopes[i].Handles) handle.Dispose();
            _scopes.RemoveAt(i);
        }
    }

    internal bool IsHandlePointer(long bits)
    {
        for (var i = 0; i < _handleCount; i++)
            if (HandleSlots[i] == bits && bits != 0) return true;
        return false;
    }

    internal void FreeHandle(int slot)
    {
        HandleSlots[slot] = 0;
        (_freeHandles ??= new()).Push(slot);
    }

    private void UpdateHandleRoots(Heap heap)
    {
        for (var i = 0; i < _handleCount; i++)
            if (HandleSlots[i] != 0) HandleSlots[i] = heap.Forward(HandleSlots[i]);
    }
}
