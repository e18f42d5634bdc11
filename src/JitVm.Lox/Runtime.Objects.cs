using JitVm.Bytecode;
using static JitVm.Bytecode.VmType;

namespace JitVm.Lox;

internal sealed partial class LoxRuntime
{
    /// <summary>The capacity of a new field or method table; capacities stay powers of two.</summary>
    private const long InitialCapacity = 8;

    /// <summary>The length of the one empty field table every new instance starts with (a table of capacity 1
    /// whose only slot is empty); a real table has at least <see cref="InitialCapacity"/> slots.</summary>
    private const long EmptyTableWords = 3;

    /// <summary>
    /// Emits the body of a lookup in the table that is <paramref name="f"/>'s parameter 0 for the key that is its
    /// parameter 1: open addressing with linear probing (symbols are small distinct integers, so a key is its own
    /// hash). Where the key is found, <paramref name="hit"/> pushes the result from the table and the key's slot;
    /// where an empty slot ends the probe, <paramref name="miss"/> pushes it.
    /// </summary>
    private static void EmitProbe(FunctionBuilder f, Action<FunctionBuilder, LocalReference, LocalReference> hit, Action<FunctionBuilder> miss)
    {
        var (table, key) = (f.Parameter(0), f.Parameter(1));
        var mask = f.DeclareLocal(I64, "mask");
        var slot = f.DeclareLocal(I64, "slot");
        var found = f.DeclareLocal(I64, "key");
        var loop = f.DefineLabel();
        var hitLabel = f.DefineLabel();
        var missLabel = f.DefineLabel();
        f.LocalGet(table).Emit(OpCode.Len).I64Const(1).Emit(OpCode.I64ShrU).I64Const(1).Emit(OpCode.I64Sub).LocalSet(mask)
         .LocalGet(key).LocalGet(mask).Emit(OpCode.I64And).LocalSet(slot)
         .MarkLabel(loop)
         .LocalGet(table).LocalGet(slot).I64Const(1).Emit(OpCode.I64Shl).I64Const(1).Emit(OpCode.I64Add).Emit(OpCode.LoadI).LocalTee(found)
         .LocalGet(key).Emit(OpCode.I64Eq).BrIf(hitLabel)
         .LocalGet(found).Emit(OpCode.I64Eqz).BrIf(missLabel)
         .LocalGet(slot).I64Const(1).Emit(OpCode.I64Add).LocalGet(mask).Emit(OpCode.I64And).LocalSet(slot).Br(loop)
         .MarkLabel(hitLabel);
        hit(f, table, slot);
        f.Return().MarkLabel(missLabel);
        miss(f);
        f.Return();
    }

    /// <summary>Pushes the shared empty field table (made the first time it is needed).</summary>
    public void EmitEmptyFields(FunctionBuilder f)
    {
        var made = f.DefineLabel();
        f.GlobalGet(EmptyFields).Emit(OpCode.Dup).Emit(OpCode.IsPtr).BrIf(made)
         .Emit(OpCode.Drop).I64Const(EmptyTableWords).Emit(OpCode.Alloc).Emit(OpCode.WordOfPtr).Emit(OpCode.Dup).GlobalSet(EmptyFields)
         .MarkLabel(made).Emit(OpCode.WordAsPtr);
    }

    private void EmitTables()
    {
        {
            var f = NewTable;
            f.I64Const(1 + 2 * InitialCapacity).Emit(OpCode.Alloc).Return();
        }
        {
            var f = TableGet;
            EmitProbe(f, (f, table, slot) => f.LocalGet(table).LocalGet(slot).I64Const(1).Emit(OpCode.I64Shl).I64Const(2).Emit(OpCode.I64Add).Emit(OpCode.LoadW),
                f => f.Word(Representation.Undefined));
        }
        {
            var f = TableFind;
            EmitProbe(f, (f, _, slot) => f.LocalGet(slot).I64Const(1).Emit(OpCode.I64Shl).I64Const(1).Emit(OpCode.I64Add), f => f.I64Const(-1));
        }
        {
            // The table is word `field` of `holder`, which gets the grown table when three quarters are used. Returns
            // the word index of the key in the table the holder has afterwards (an inline cache remembers it).
            var f = TableSet;
            var (holder, field, key, value) = (f.Parameter(0), f.Parameter(1), f.Parameter(2), f.Parameter(3));
            var table = f.DeclareLocal(Ptr, "table");
            var grown = f.DeclareLocal(Ptr, "grown");
            var mask = f.DeclareLocal(I64, "mask");
            var slot = f.DeclareLocal(I64, "slot");
            var found = f.DeclareLocal(I64, "found");
            var count = f.DeclareLocal(I64, "count");
            var i = f.DeclareLocal(I64, "i");
            var loop = f.DefineLabel();
            var hit = f.DefineLabel();
            var insert = f.DefineLabel();
            // The shared empty table of new instances is never written: the first field gets the instance a table.
            var ready = f.DefineLabel();
            f.LocalGet(holder).LocalGet(field).Emit(OpCode.LoadP).LocalSet(table)
             .LocalGet(table).Emit(OpCode.Len).I64Const(EmptyTableWords).Emit(OpCode.I64Ne).BrIf(ready)
             .Call(NewTable).LocalSet(table).LocalGet(holder).LocalGet(field).LocalGet(table).Emit(OpCode.StoreP)
             .MarkLabel(ready)
             .LocalGet(table).Emit(OpCode.Len).I64Const(1).Emit(OpCode.I64ShrU).I64Const(1).Emit(OpCode.I64Sub).LocalSet(mask)
             .LocalGet(key).LocalGet(mask).Emit(OpCode.I64And).LocalSet(slot)
             .MarkLabel(loop)
             .LocalGet(table).LocalGet(slot).I64Const(1).Emit(OpCode.I64Shl).I64Const(1).Emit(OpCode.I64Add).Emit(OpCode.LoadI).LocalTee(found)
             .LocalGet(key).Emit(OpCode.I64Eq).BrIf(hit)
             .LocalGet(found).Emit(OpCode.I64Eqz).BrIf(insert)
             .LocalGet(slot).I64Const(1).Emit(OpCode.I64Add).LocalGet(mask).Emit(OpCode.I64And).LocalSet(slot).Br(loop)
             .MarkLabel(hit).LocalGet(table).LocalGet(slot).I64Const(1).Emit(OpCode.I64Shl).I64Const(2).Emit(OpCode.I64Add).LocalGet(value).Emit(OpCode.StoreW)
             .LocalGet(slot).I64Const(1).Emit(OpCode.I64Shl).I64Const(1).Emit(OpCode.I64Add).Return()
             .MarkLabel(insert)
             .LocalGet(table).LocalGet(slot).I64Const(1).Emit(OpCode.I64Shl).I64Const(1).Emit(OpCode.I64Add).LocalGet(key).Emit(OpCode.StoreI)
             .LocalGet(table).LocalGet(slot).I64Const(1).Emit(OpCode.I64Shl).I64Const(2).Emit(OpCode.I64Add).LocalGet(value).Emit(OpCode.StoreW)
             .LocalGet(table).I64Const(Layout.TableCount).Emit(OpCode.LoadI).I64Const(1).Emit(OpCode.I64Add).LocalTee(count)
             .LocalSet(count).LocalGet(table).I64Const(Layout.TableCount).LocalGet(count).Emit(OpCode.StoreI);
            var roomy = f.DefineLabel();
            f.LocalGet(count).I64Const(4).Emit(OpCode.I64Mul).LocalGet(mask).I64Const(1).Emit(OpCode.I64Add).I64Const(3).Emit(OpCode.I64Mul)
             .Emit(OpCode.I64LeS).BrIf(roomy);
            // Grow: twice the capacity, every entry probed into its new slot.
            var copy = f.DefineLabel();
            var copied = f.DefineLabel();
            var skip = f.DefineLabel();
            var probe = f.DefineLabel();
            var place = f.DefineLabel();
            var newMask = f.DeclareLocal(I64, "new_mask");
            f.LocalGet(mask).I64Const(1).Emit(OpCode.I64Add).I64Const(2).Emit(OpCode.I64Shl).I64Const(1).Emit(OpCode.I64Add).Emit(OpCode.Alloc).LocalSet(grown)
             .LocalGet(mask).I64Const(1).Emit(OpCode.I64Shl).I64Const(1).Emit(OpCode.I64Or).LocalSet(newMask)
             .LocalGet(grown).I64Const(Layout.TableCount).LocalGet(count).Emit(OpCode.StoreI)
             .I64Const(0).LocalSet(i)
             .MarkLabel(copy).LocalGet(i).LocalGet(mask).Emit(OpCode.I64GtS).BrIf(copied)
             .LocalGet(table).LocalGet(i).I64Const(1).Emit(OpCode.I64Shl).I64Const(1).Emit(OpCode.I64Add).Emit(OpCode.LoadI).LocalTee(found)
             .Emit(OpCode.I64Eqz).BrIf(skip)
             .LocalGet(found).LocalGet(newMask).Emit(OpCode.I64And).LocalSet(slot)
             .MarkLabel(probe)
             .LocalGet(grown).LocalGet(slot).I64Const(1).Emit(OpCode.I64Shl).I64Const(1).Emit(OpCode.I64Add).Emit(OpCode.LoadI).Emit(OpCode.I64Eqz).BrIf(place)
             .LocalGet(slot).I64Const(1).Emit(OpCode.I64Add).LocalGet(newMask).Emit(OpCode.I64And).LocalSet(slot).Br(probe)
             .MarkLabel(place)
             .LocalGet(grown).LocalGet(slot).I64Const(1).Emit(OpCode.I64Shl).I64Const(1).Emit(OpCode.I64Add).LocalGet(found).Emit(OpCode.StoreI)
             .LocalGet(grown).LocalGet(slot).I64Const(1).Emit(OpCode.I64Shl).I64Const(2).Emit(OpCode.I64Add)
             .LocalGet(table).LocalGet(i).I64Const(1).Emit(OpCode.I64Shl).I64Const(2).Emit(OpCode.I64Add).Emit(OpCode.LoadW).Emit(OpCode.StoreW)
             .MarkLabel(skip).LocalGet(i).I64Const(1).Emit(OpCode.I64Add).LocalSet(i).Br(copy)
             .MarkLabel(copied).LocalGet(holder).LocalGet(field).LocalGet(grown).Emit(OpCode.StoreP)
             .LocalGet(grown).LocalGet(key).Call(TableFind).Return()
             .MarkLabel(roomy).LocalGet(slot).I64Const(1).Emit(OpCode.I64Shl).I64Const(1).Emit(OpCode.I64Add).Return();
        }
    }

    private void EmitClasses()
    {
        {
            var f = GetProperty;
            var (target, symbol) = (f.Parameter(0), f.Parameter(1));
            var instance = f.DeclareLocal(Ptr, "instance");
            var value = f.DeclareLocal(Word, "value");
            var error = f.DefineLabel();
            var method = f.DefineLabel();
            f.BrIfNotKind(target, ObjectKind.Instance, error)
             .LocalGet(target).Emit(OpCode.WordAsPtr).LocalSet(instance)
             .Field(instance, Layout.InstanceFields, OpCode.LoadP).LocalGet(symbol).Call(TableGet).LocalSet(value)
             .BrIfUndefined(value, method).LocalGet(value).Return()
             .MarkLabel(method).Field(instance, Layout.InstanceClass, OpCode.LoadP).LocalGet(target).LocalGet(symbol).Call(BindMethod).Return()
             .MarkLabel(error);
            Raise(f, RuntimeError.PropertiesOnlyOnInstances);
        }
        {
            var f = SetProperty;
            var (target, symbol, value) = (f.Parameter(0), f.Parameter(1), f.Parameter(2));
            var error = f.DefineLabel();
            f.BrIfNotKind(target, ObjectKind.Instance, error)
             .LocalGet(target).Emit(OpCode.WordAsPtr).I64Const(Layout.InstanceFields).LocalGet(symbol).LocalGet(value).Call(TableSet)
             .Emit(OpCode.Drop).LocalGet(value).Return()
             .MarkLabel(error);
            Raise(f, RuntimeError.FieldsOnlyOnInstances);
        }
        {
            var f = BindMethod;
            var (klass, receiver, symbol) = (f.Parameter(0), f.Parameter(1), f.Parameter(2));
            var method = f.DeclareLocal(Word, "method");
            var bound = f.DeclareLocal(Ptr, "bound");
            var missing = f.DefineLabel();
            f.Field(klass, Layout.ClassMethods, OpCode.LoadP).LocalGet(symbol).Call(TableGet).LocalSet(method)
             .BrIfUndefined(method, missing)
             .I64Const(3).Emit(OpCode.Alloc).LocalSet(bound)
             .LocalGet(bound).I64Const(Layout.Kind).I64Const((long)ObjectKind.BoundMethod).Emit(OpCode.StoreI)
             .LocalGet(bound).I64Const(Layout.BoundReceiver).LocalGet(receiver).Emit(OpCode.StoreW)
             .LocalGet(bound).I64Const(Layout.BoundClosure).LocalGet(method).Emit(OpCode.StoreW)
             .LocalGet(bound).Emit(OpCode.WordOfPtr).Return()
             .MarkLabel(missing)
             .I64Const((long)RuntimeError.UndefinedProperty).LocalGet(symbol).I64Const(0).Call(Error).Emit(OpCode.Unreachable);
        }
        {
            var f = FindMethod;
            var (klass, symbol, arity) = (f.Parameter(0), f.Parameter(1), f.Parameter(2));
            var method = f.DeclareLocal(Word, "method");
            var none = f.DefineLabel();
            f.Field(klass, Layout.ClassMethods, OpCode.LoadP).LocalGet(symbol).Call(TableGet).LocalTee(method)
             .Emit(OpCode.IsPtr).BrIfZ(none)
             .LocalGet(method).Emit(OpCode.WordAsPtr).I64Const(Layout.ClosureArity).Emit(OpCode.LoadI).LocalGet(arity).Emit(OpCode.I64Ne).BrIf(none)
             .LocalGet(method).Return()
             .MarkLabel(none).Nil().Return();
        }
        {
            var f = NewClass;
            var klass = f.DeclareLocal(Ptr, "class");
            f.I64Const(3).Emit(OpCode.Alloc).LocalSet(klass)
             .LocalGet(klass).I64Const(Layout.Kind).I64Const((long)ObjectKind.Class).Emit(OpCode.StoreI)
             .LocalGet(klass).I64Const(Layout.ClassName).LocalGet(f.Parameter(0)).Emit(OpCode.StoreP)
             .LocalGet(klass).I64Const(Layout.ClassMethods).Call(NewTable).Emit(OpCode.StoreP)
             .LocalGet(klass).Emit(OpCode.WordOfPtr).Return();
        }
        {
            // Copies the superclass's methods into the new class, before the class's own are added (clox's OP_INHERIT).
            var f = Inherit;
            var (superclass, subclass) = (f.Parameter(0), f.Parameter(1));
            var methods = f.DeclareLocal(Ptr, "methods");
            var i = f.DeclareLocal(I64, "i");
            var key = f.DeclareLocal(I64, "key");
            var error = f.DefineLabel();
            var loop = f.DefineLabel();
            var skip = f.DefineLabel();
            var done = f.DefineLabel();
            f.BrIfNotKind(superclass, ObjectKind.Class, error)
             .LocalGet(superclass).Emit(OpCode.WordAsPtr).I64Const(Layout.ClassMethods).Emit(OpCode.LoadP).LocalSet(methods)
             .MarkLabel(loop).LocalGet(i).LocalGet(methods).Emit(OpCode.Len).I64Const(1).Emit(OpCode.I64ShrU).Emit(OpCode.I64GeS).BrIf(done)
             .LocalGet(methods).LocalGet(i).I64Const(1).Emit(OpCode.I64Shl).I64Const(1).Emit(OpCode.I64Add).Emit(OpCode.LoadI).LocalTee(key)
             .Emit(OpCode.I64Eqz).BrIf(skip)
             .LocalGet(subclass).Emit(OpCode.WordAsPtr).I64Const(Layout.ClassMethods).LocalGet(key)
             .LocalGet(methods).LocalGet(i).I64Const(1).Emit(OpCode.I64Shl).I64Const(2).Emit(OpCode.I64Add).Emit(OpCode.LoadW).Call(TableSet)
             .Emit(OpCode.Drop).MarkLabel(skip).LocalGet(i).I64Const(1).Emit(OpCode.I64Add).LocalSet(i).Br(loop)
             .MarkLabel(done).Return()
             .MarkLabel(error);
            Raise(f, RuntimeError.SuperclassNotClass);
        }
        {
            var f = AddMethod;
            f.LocalGet(f.Parameter(0)).Emit(OpCode.WordAsPtr).I64Const(Layout.ClassMethods).LocalGet(f.Parameter(1)).LocalGet(f.Parameter(2))
             .Call(TableSet).Emit(OpCode.Drop).Return();
        }
        {
            var f = GetSuper;
            f.LocalGet(f.Parameter(0)).Emit(OpCode.WordAsPtr).LocalGet(f.Parameter(1)).LocalGet(f.Parameter(2)).Call(BindMethod).Return();
        }
    }
}
