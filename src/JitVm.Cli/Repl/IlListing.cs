using System.Globalization;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace JitVm.Cli.Repl;

/// <summary>
/// The CIL the JIT generates for a function, as a listing. The JIT's dynamic methods cannot be read back, so the
/// listing comes from the same emitter writing the module into a saved assembly (<see cref="Jit.AssemblyCompiler"/>,
/// whose bodies are those of the JIT, spec/internals.md §5), read with System.Reflection.Metadata.
/// </summary>
internal static class IlListing
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Hosting.Module.JitNeedsDynamicCode)]
    public static List<string> Of(Hosting.Module module, int definedIndex)
    {
        var path = Path.Combine(Path.GetTempPath(), $"jitvm-repl-il-{Environment.ProcessId}-{Guid.NewGuid():N}.dll");
        try
        {
            Jit.AssemblyCompiler.Save(module, path, "JitVmRepl");
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            var metadata = pe.GetMetadataReader();
            var type = metadata.TypeDefinitions.Select(metadata.GetTypeDefinition)
                .First(t => metadata.GetString(t.Namespace) + "." + metadata.GetString(t.Name) == Jit.AssemblyCompiler.TypeName);
            // The generated type defines one method per defined function, in function order.
            var handle = type.GetMethods().ElementAt(definedIndex);
            var method = metadata.GetMethodDefinition(handle);
            var body = pe.GetMethodBody(method.RelativeVirtualAddress);
            var lines = new List<string>
            {
                $"// {Diagnostics.Printable.Bare(module.Definition.Functions[definedIndex].Name)}: {body.GetILBytes()!.Length} bytes of IL, max stack {body.MaxStack}" +
                (body.LocalSignature.IsNil ? "" : $", {LocalCount(metadata, body)} locals"),
            };
            lines.AddRange(Decode(body.GetILReader(), metadata));
            return lines;
        }
        finally
        {
            try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static int LocalCount(MetadataReader metadata, MethodBodyBlock body)
    {
        var blob = metadata.GetBlobReader(metadata.GetStandaloneSignature(body.LocalSignature).Signature);
        blob.ReadSignatureHeader();
        return blob.ReadCompressedInteger();
    }

    private static IEnumerable<string> Decode(BlobReader il, MetadataReader metadata)
    {
        while (il.RemainingBytes > 0)
        {
            var offset = il.Offset;
            short value = il.ReadByte();
            if (value == 0xFE) value = (short)(0xFE00 | il.ReadByte());
            if (!OpCodesByValue.TryGetValue(value, out var op))
            {
                yield return $"  IL_{offset:x4}: <unknown opcode 0x{value:x}>";
                yield break;
            }
            var operand = op.OperandType switch
            {
                OperandType.InlineNone => "",
                OperandType.ShortInlineBrTarget => Target(il.ReadSByte(), il.Offset),
                OperandType.InlineBrTarget => Target(il.ReadInt32(), il.Offset),
                OperandType.ShortInlineI => il.ReadSByte().ToString(CultureInfo.InvariantCulture),
                OperandType.ShortInlineVar => il.ReadByte().ToString(CultureInfo.InvariantCulture),
                OperandType.InlineVar => il.ReadUInt16().ToString(CultureInfo.InvariantCulture),
                OperandType.InlineI => il.ReadInt32().ToString(CultureInfo.InvariantCulture),
                OperandType.InlineI8 => il.ReadInt64().ToString(CultureInfo.InvariantCulture),
                OperandType.ShortInlineR => il.ReadSingle().ToString("R", CultureInfo.InvariantCulture),
                OperandType.InlineR => il.ReadDouble().ToString("R", CultureInfo.InvariantCulture),
                OperandType.InlineSwitch => Switch(ref il),
                OperandType.InlineString => $"\"{metadata.GetUserString(MetadataTokens.UserStringHandle(il.ReadInt32()))}\"",
                _ => Member(metadata, il.ReadInt32()),
            };
            yield return operand.Length == 0 ? $"  IL_{offset:x4}: {op.Name}" : $"  IL_{offset:x4}: {op.Name,-12} {operand}";
        }
    }

    private static string Target(int delta, int next) => $"IL_{next + delta:x4}";

    private static string Switch(ref BlobReader il)
    {
        var count = il.ReadInt32();
        var deltas = new int[count];
        for (var i = 0; i < count; i++) deltas[i] = il.ReadInt32();
        var next = il.Offset;
        return $"({string.Join(", ", deltas.Select(d => Target(d, next)))})";
    }

    /// <summary>A metadata token as the member it names: Type::Method for calls, the type for type tokens.</summary>
    private static string Member(MetadataReader metadata, int token)
    {
        var handle = MetadataTokens.EntityHandle(token);
        switch (handle.Kind)
        {
            case HandleKind.MethodDefinition:
            {
                var method = metadata.GetMethodDefinition((MethodDefinitionHandle)handle);
                return $"{TypeName(metadata, method.GetDeclaringType())}::{Diagnostics.Printable.Bare(metadata.GetString(method.Name))}";
            }
            case HandleKind.MemberReference:
            {
                var member = metadata.GetMemberReference((MemberReferenceHandle)handle);
                return $"{TypeName(metadata, member.Parent)}::{metadata.GetString(member.Name)}";
            }
            case HandleKind.FieldDefinition:
            {
                var field = metadata.GetFieldDefinition((FieldDefinitionHandle)handle);
                return $"{TypeName(metadata, field.GetDeclaringType())}::{metadata.GetString(field.Name)}";
            }
            case HandleKind.MethodSpecification:
            {
                var spec = metadata.GetMethodSpecification((MethodSpecificationHandle)handle);
                return Member(metadata, MetadataTokens.GetToken(spec.Method)) + "<...>";
            }
            case HandleKind.TypeDefinition or HandleKind.TypeReference or HandleKind.TypeSpecification:
                return TypeName(metadata, handle);
            default:
                return $"token 0x{token:x8}";
        }
    }

    private static string TypeName(MetadataReader metadata, EntityHandle handle) => handle.Kind switch
    {
        HandleKind.TypeDefinition => metadata.GetString(metadata.GetTypeDefinition((TypeDefinitionHandle)handle).Name),
        HandleKind.TypeReference => metadata.GetString(metadata.GetTypeReference((TypeReferenceHandle)handle).Name),
        HandleKind.TypeSpecification => "<generic type>",
        HandleKind.MethodDefinition => TypeName(metadata, metadata.GetMethodDefinition((MethodDefinitionHandle)handle).GetDeclaringType()),
        _ => "?",
    };
}
