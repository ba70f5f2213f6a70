// See guest_accel.h.
#include "guest/guest_accel.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace machina::test {

namespace {

bool host_has_vmx_or_svm() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    for (std::string w; words >> w;)
      if (w == "vmx" || w == "svm") return true;
    return false;  // the first CPU's flags say it
  }
  return false;
}

}  // namespace

std::string guest_test_accel() {
  const char* a = std::getenv("MACHINA_TEST_ACCEL");
  return a && *a ? a : "tcg";
}

std::string guest_test_accel_unavailable() {
  std::string accel = guest_test_accel();
  if (accel == "tcg") return "";
  if (accel != "kvm") return "unknown accelerator '" + accel + "' in MACHINA_TEST_ACCEL";
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return "/dev/kvm cannot be opened on this host";
  ::close(fd);
  if (!host_has_vmx_or_svm())
    return "the host CPU has no hardware virtualization (no vmx or svm flag); its /dev/kvm "
           "cannot boot Linux";
  return "";
}

}  // namespace machina::test
