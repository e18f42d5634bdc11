namespace JitVm.Bytecode;

/// <summary>Exceptions in the builder (spec/exceptions.md, spec/module-builder.md): <c>throw</c> and handler table entries.</summary>
public sealed partial class FunctionBuilder
{
    private readonly List<(TagReference Tag, CodeLabel Start, CodeLabel End, CodeLabel Handler)> _handlers = [];

    /// <summary>Emits <c>throw</c> of <paramref name="tag"/>: pops the tag's payload and throws.</summary>
    /// <exception cref="ArgumentException">The tag was declared by another builder.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Throw(TagReference tag)
    {
        var info = Expect(OpCode.Throw, Given.Tag);
        ArgumentNullException.ThrowIfNull(tag);
        if (tag.Owner != Owner) throw ForeignHandle(info, $"tag '{tag.Name}'", nameof(tag));
        return Add(new PendingInstruction(OpCode.Throw, tag.Index));
    }

    /// <summary>
    /// Adds an entry to the function's handler table: an exception of <paramref name="tag"/> thrown while an
    /// instruction from <paramref name="start"/> up to, not including, <paramref name="end"/> runs continues at
    /// <paramref name="handler"/> with the payload on an otherwise empty stack. Entries keep the order they are
    /// added in, which is the order the table is searched in (an inner range's entries must come first). The labels
    /// may be marked later; the verifier checks the rules of spec/verification.md §7.
    /// </summary>
    /// <exception cref="ArgumentException">A label belongs to another function, or the tag to another builder.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Catch(TagReference tag, CodeLabel start, CodeLabel end, CodeLabel handler)
    {
        Owner.ThrowIfBuilt();
        ArgumentNullException.ThrowIfNull(tag);
        if (tag.Owner != Owner)
            throw new ArgumentException($"function '{Name}': tag '{tag.Name}' was declared by a different ModuleBuilder", nameof(tag));
        CheckLabel(start, nameof(start));
        CheckLabel(end, nameof(end));
        CheckLabel(handler, nameof(handler));
        _handlers.Add((tag, start, end, handler));
        return this;
    }

    private HandlerDefinition[] ResolveHandlers()
    {
        int Resolve(CodeLabel label, int entry) =>
            label.IsMarked
                ? label.Position
                : throw new InvalidOperationException($"function '{Name}', handler #{entry}: {label.Describe()} is never marked; call MarkLabel before building");
        return [.. _handlers.Select((h, k) => new HandlerDefinition(Resolve(h.Start, k), Resolve(h.End, k), h.Tag.Index, Resolve(h.Handler, k)))];
    }
}

/// <summary>An exception tag declared with <see cref="ModuleBuilder.Tag"/>.</summary>
public sealed class TagReference
{
    internal TagReference(ModuleBuilder owner, string name, VmType[] parameters, int index)
    {
        Owner = owner;
        Name = name;
        Parameters = parameters;
        Index = index;
    }

    /// <summary>The tag's name.</summary>
    public string Name { get; }

    /// <summary>The payload's types, deepest first.</summary>
    public IReadOnlyList<VmType> Parameters { get; }

    /// <summary>Its tag index (declaration order).</summary>
    public int Index { get; }

    internal ModuleBuilder Owner { get; }

    /// <inheritdoc />
    public override string ToString() => $"tag {Name} ({string.Join(' ', Parameters.Select(p => p.Name()))})";
}
