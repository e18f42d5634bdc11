-- The peer table's binary-trees: the Crafting Interpreters benchmark (test/benchmark/binary_trees.lox) with a
-- metatable for the class Tree and its fields item, depth, left and right. Prints what the book's version prints,
-- without its final "elapsed:" lines. math.floor keeps iterations an integer in Lua 5.4 (LuaJIT has no `//`).
local Tree = {}
Tree.__index = Tree

function Tree.new(item, depth)
  local tree = setmetatable({ item = item, depth = depth, left = nil, right = nil }, Tree)
  if depth > 0 then
    local item2 = item + item
    depth = depth - 1
    tree.left = Tree.new(item2 - 1, depth)
    tree.right = Tree.new(item2, depth)
  end
  return tree
end

function Tree:check()
  if self.left == nil then
    return self.item
  end
  return self.item + self.left:check() - self.right:check()
end

local minDepth = 4
local maxDepth = 14
local stretchDepth = maxDepth + 1

print("stretch tree of depth:")
print(stretchDepth)
print("check:")
print(Tree.new(0, stretchDepth):check())

local longLivedTree = Tree.new(0, maxDepth)

-- iterations = 2 ** maxDepth
local iterations = 1
local d = 0
while d < maxDepth do
  iterations = iterations * 2
  d = d + 1
end

local depth = minDepth
while depth < stretchDepth do
  local check = 0
  local i = 1
  while i <= iterations do
    check = check + Tree.new(i, depth):check() + Tree.new(-i, depth):check()
    i = i + 1
  end

  print("num trees:")
  print(iterations * 2)
  print("depth:")
  print(depth)
  print("check:")
  print(check)

  iterations = math.floor(iterations / 4)
  depth = depth + 2
end

print("long lived tree of depth:")
print(maxDepth)
print("check:")
print(longLivedTree:check())
