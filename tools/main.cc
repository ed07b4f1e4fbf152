// The tapedeck executable (placeholder until the CLI lands).
#include <cstdio>
int main() {
  std::fputs("tapedeck: not built yet\n", stderr);
  return 2;
}
