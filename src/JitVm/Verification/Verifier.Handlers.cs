using JitVm.Bytecode;
using JitVm.Diagnostics;

namespace JitVm.Verification;

/// <summary>The rules of handler tables and protected ranges (spec/verification.md §7).</summary>
internal static partial class Verifier
{
    private sealed partial class FunctionVerifier
    {
        /// <summary>
        /// Checks each entry of the handler table (its tag, its range, its handler's place), builds the tree of
        /// protected ranges, and marks every handler as a block leader (and as a backward target when it does not
        /// come after its range's start, so the pass keeps the state it is first seen with).
        /// </summary>
        private HandlerRegions CheckHandlerTable(bool[] isLeader, bool[] isBackwardTarget)
        {
            var handlers = function.Handlers;
            var count = function.Code.Length;
            if (handlers.Count == 0) return HandlerRegions.None(count);
            if (handlers.Count > ModuleLimits.MaxHandlers)
                throw Error(VerificationRule.InvalidHandler, -1, $"the handler table has {handlers.Count} entries; the limit is {ModuleLimits.MaxHandlers}");
            for (var k = 0; k < handlers.Count; k++)
            {
                var (start, end, tag, handler) = handlers[k];
                if ((uint)tag >= (uint)module.Tags.Count)
                    throw Error(VerificationRule.InvalidIndex, -1, $"handler #{k} names tag #{tag}, but the module has {module.Tags.Count}");
                if (start < 0 || start >= end || end >= count)
                    throw Error(VerificationRule.InvalidHandler, -1,
                        $"handler #{k} protects [{start}, {end}); a protected range must satisfy 0 <= start < end < {count} (the end names the instruction after the range)");
                if ((uint)handler >= (uint)count)
                    throw Error(VerificationRule.InvalidHandler, -1, $"handler #{k} starts at pc {handler}, which is outside the function (which has {count} instructions)");
            }
            var (regions, first, second) = HandlerRegions.Build(handlers, count);
            if (regions is null)
                throw Error(VerificationRule.InvalidHandler, -1,
                    $"the protected ranges of handler #{first} [{handlers[first].Start}, {handlers[first].End}) and handler #{second} [{handlers[second].Start}, {handlers[second].End}) overlap; two ranges must be disjoint, equal, or one inside the other");
            var regionOf = new Dictionary<(int, int), int>();
            for (var r = 0; r < regions.Regions.Length; r++) regionOf[(regions.Regions[r].Start, regions.Regions[r].End)] = r;
            for (var k = 0; k < handlers.Count; k++)
            {
                var own = regionOf[(handlers[k].Start, handlers[k].End)];
                // An entry of an inner range must come before every entry of a range around it: the table is
                // searched in order, and the innermost handler must win.
                for (var outer = regions.Regions[own].Parent; outer >= 0; outer = regions.Regions[outer].Parent)
                    foreach (var j in regions.Regions[outer].Entries)
                        if (j < k)
                            throw Error(VerificationRule.InvalidHandler, -1,
                                $"handler #{k} protects [{handlers[k].Start}, {handlers[k].End}), inside the range [{handlers[j].Start}, {handlers[j].End}) of handler #{j}, but comes after it; an inner range's entries come first");
                var handler = handlers[k].Handler;
                var context = regions.LabelContext(handler);
                if (context == own || !regions.Contains(context, own))
                    throw Error(VerificationRule.InvalidHandler, handler,
                        $"handler #{k} (for [{handlers[k].Start}, {handlers[k].End})) starts at pc {handler}, inside {(context == own ? "its own protected range" : $"the protected range [{regions.Regions[context].Start}, {regions.Regions[context].End}), which does not contain its range")}; a handler must be outside its range, and any range it is in must contain its range");
                isLeader[handler] = true;
                if (handler <= handlers[k].Start) isBackwardTarget[handler] = true;
            }
            return regions;
        }

        /// <summary>What a protected range allows: it is entered only at its first instruction (a branch may leave a
        /// range, or go to the first instruction of one, but not into the middle of one it is not in), and it holds no
        /// tail call (which would leave the range's handlers behind).</summary>
        private void CheckProtectedInstruction(HandlerRegions regions, Instruction instruction, OpCodeInfo info)
        {
            var here = regions.InnermostAt[_pc];
            if (info.OpCode is OpCode.ReturnCall or OpCode.ReturnCallIndirect && here >= 0)
                throw Error(VerificationRule.InvalidHandler, _pc,
                    $"{info.Mnemonic} is inside the protected range [{regions.Regions[here].Start}, {regions.Regions[here].End}); a tail call there would leave its handlers: call and return instead");
            if (info.Operand == OperandKind.Label) CheckEntry(regions, here, instruction.Index);
            else if (info.Operand == OperandKind.LabelTable)
            {
                foreach (var target in instruction.Targets ?? []) CheckEntry(regions, here, target);
                CheckEntry(regions, here, instruction.Index);
            }
        }

        private void CheckEntry(HandlerRegions regions, int here, int target)
        {
            var context = regions.LabelContext(target);
            if (regions.Contains(context, here)) return;
            throw Error(VerificationRule.InvalidHandler, _pc,
                $"the branch to pc {target}{LabelSuffix(target)} enters the protected range [{regions.Regions[context].Start}, {regions.Regions[context].End}) in its middle; a protected range is entered only at its first instruction");
        }
    }
}
