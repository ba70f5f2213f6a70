#include "system/vl.h"

int main(int argc, char** argv) {
  return machina::machina_main(argc, argv);
}
