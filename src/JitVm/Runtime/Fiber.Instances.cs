namespace JitVm.Runtime;

/// <summary>Calls across instances: which instance's code each depth of the VM stack runs.</summary>
internal sealed partial class Fiber
{
    /// <summary>Where the running instance changed, outermost first: from <c>Depth</c> on, frames run
    /// <c>Instance</c>'s code. Empty (or not yet made) while every frame runs the fiber's first instance.</summary>
    private List<(int Depth, Instance Instance)>? _crossings;

    private Instance? _baseInstance;

    /// <summary>The instance whose function runs at VM stack depth <paramref name="depth"/>.</summary>
    public Instance InstanceAt(int depth)
    {
        if (_crossings is null) return _baseInstance ?? Instance;
        for (var i = _crossings.Count - 1; i >= 0; i--)
            if (_crossings[i].Depth <= depth) return _crossings[i].Instance;
        return _baseInstance ?? Instance;
    }

    /// <summary>Enters <paramref name="target"/>'s code for a call whose callee runs at <paramref name="depth"/>;
    /// returns what <see cref="LeaveInstance"/> restores.</summary>
    public Instance EnterInstance(Instance target, int depth)
    {
        var previous = Instance;
        _baseInstance ??= previous;
        (_crossings ??= []).Add((depth, target));
        Instance = target;
        return previous;
    }

    public void LeaveInstance(Instance previous)
    {
        _crossings!.RemoveAt(_crossings.Count - 1);
        Instance = previous;
    }

    /// <summary>Binds the fiber to another instance of its store between entries (the REPL moves its fiber to
    /// each new session module); entries then run that instance's functions.</summary>
    /// <exception cref="InvalidOperationException">The fiber has frames (an entry is running on it).</exception>
    public void Rebind(Instance instance)
    {
        if (CallDepth != 0 || FrameCount != 0 || _crossings is { Count: > 0 })
            throw new InvalidOperationException("cannot rebind a fiber while it runs");
        if (instance.Store != Store) throw new ArgumentException("the instance belongs to another store", nameof(instance));
        Instance = instance;
    }

    private void ResetInstances()
    {
        if (_baseInstance is { } first) Instance = first;
        _baseInstance = null;
        _crossings?.Clear();
    }
}
