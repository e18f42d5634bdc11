namespace System.Runtime.CompilerServices;

/// <summary>
/// Lets the assembly that carries it call the internals of the named assembly. The CLR recognises the attribute by
/// its name (there is no public definition to use); <see cref="JitVm.Jit.AssemblyCompiler"/> puts it on saved
/// assemblies so their code can call the internal runtime helpers, as dynamic methods do with skipVisibility.
/// </summary>
/// <param name="assemblyName">The assembly whose internals become accessible.</param>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
internal sealed class IgnoresAccessChecksToAttribute(string assemblyName) : Attribute
{
    /// <summary>The assembly whose internals become accessible.</summary>
    public string AssemblyName { get; } = assemblyName;
}
