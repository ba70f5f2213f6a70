// The KVM ioctls whose argument ends in a variable-length array, with the kernel's layout.
//
// Linux's UAPI headers up to 6.1 declare those arrays with __DECLARE_FLEX_ARRAY, which in C++
// puts an empty struct (1 byte, not 0 as in C) before the array: sizeof(struct kvm_cpuid2) and
// the offset of its entries are wrong in C++, and so are the ioctl numbers, which encode the
// size (the kernel then answers EINVAL). machina uses these definitions instead: a fixed header
// followed directly by the array, as the kernel lays it out.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace machina::kvm {

static_assert(sizeof(kvm_cpuid_entry2) == 40 && sizeof(kvm_msr_entry) == 16);
static_assert(sizeof(kvm_irq_routing_entry) == 48);

// struct kvm_cpuid2 { u32 nent; u32 padding; kvm_cpuid_entry2 entries[]; }
// struct kvm_msrs { u32 nmsrs; u32 pad; kvm_msr_entry entries[]; }
// struct kvm_msr_list { u32 nmsrs; u32 indices[]; }
inline constexpr unsigned long kIoctlGetSupportedCpuid =
    _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, 8);
inline constexpr unsigned long kIoctlSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, 8);
inline constexpr unsigned long kIoctlGetMsrIndexList = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x02, 4);
inline constexpr unsigned long kIoctlGetMsrs = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x88, 8);
inline constexpr unsigned long kIoctlSetMsrs = _IOC(_IOC_WRITE, KVMIO, 0x89, 8);
// struct kvm_irq_routing { u32 nr; u32 flags; kvm_irq_routing_entry entries[]; }
inline constexpr unsigned long kIoctlSetGsiRouting = _IOC(_IOC_WRITE, KVMIO, 0x6a, 8);

// A buffer of a u32 count (plus `header` - 4 bytes of padding) followed by `n` entries of T.
template <class T, size_t header>
class KvmArray {
 public:
  explicit KvmArray(size_t n) : buf_(header + n * sizeof(T)) { set_count(n); }
  void* data() { return buf_.data(); }
  uint32_t count() const {
    uint32_t n;
    std::memcpy(&n, buf_.data(), 4);
    return n;
  }
  void set_count(size_t n) {
    uint32_t v = static_cast<uint32_t>(n);
    std::memcpy(buf_.data(), &v, 4);
  }
  size_t capacity() const { return (buf_.size() - header) / sizeof(T); }
  T get(size_t i) const {
    T e;
    std::memcpy(&e, buf_.data() + header + i * sizeof(T), sizeof(T));
    return e;
  }
  void set(size_t i, const T& e) {
    std::memcpy(buf_.data() + header + i * sizeof(T), &e, sizeof(T));
  }

 private:
  std::vector<uint8_t> buf_;
};

using KvmCpuidArray = KvmArray<kvm_cpuid_entry2, 8>;
using KvmMsrArray = KvmArray<kvm_msr_entry, 8>;
using KvmMsrIndexArray = KvmArray<uint32_t, 4>;
using KvmIrqRoutingArray = KvmArray<kvm_irq_routing_entry, 8>;

}  // namespace machina::kvm
