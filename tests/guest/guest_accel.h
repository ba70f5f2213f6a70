// The accelerator the Linux guest tests boot Debian's kernel with. They run under the software
// CPU ("tcg", the default) and once more under KVM (ctest's `.kvm` entries set
// MACHINA_TEST_ACCEL=kvm). KVM can boot Linux only with hardware virtualization: on a host
// without vmx or svm (this project's machines expose PVM, ../shared/notes/machines.md) every test
// of such a run is reported as skipped with that reason, never as passed.
#pragma once

#include <string>

namespace machina::test {

// MACHINA_TEST_ACCEL, or "tcg".
std::string guest_test_accel();

// "" if Linux guests can boot with guest_test_accel() on this host, else why not.
std::string guest_test_accel_unavailable();

}  // namespace machina::test
