-- The peer table's mulmod: x = (x * 31 + i) % 1000003 for i = 1 .. 100,000,000 (values stay below 2^27).
local x = 0
for i = 1, 100000000 do
  x = (x * 31 + i) % 1000003
end
print(string.format("%d", x))
