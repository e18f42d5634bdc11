-- The peer table's loop: s = s + i * 2 for i = 1 .. 100,000,000.
-- Lua 5.4 computes in 64-bit integers; LuaJIT in doubles, where every partial sum (i * (i + 1), even and below
-- 2^54) is exact, so both print 10000000100000000.
local s = 0
for i = 1, 100000000 do
  s = s + i * 2
end
print(string.format("%d", s))
