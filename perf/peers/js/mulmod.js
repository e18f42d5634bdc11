// The peer table's mulmod: x = (x * 31 + i) % 1000003 for i = 1 .. 100,000,000 (values stay below 2^27).
function main() {
  let x = 0;
  for (let i = 1; i <= 100000000; i++) {
    x = (x * 31 + i) % 1000003;
  }
  console.log(x);
}
main();
