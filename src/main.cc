#include <cstdio>

int main() {
  std::puts("machina " MACHINA_VERSION);
  return 0;
}
