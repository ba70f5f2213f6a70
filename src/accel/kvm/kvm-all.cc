// The KVM accelerator's VM: /dev/kvm, KVM_CREATE_VM, the capabilities machina relies on, and
// the vCPU file descriptors it keeps for reuse.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "accel/kvm/kvm-internal.h"
#include "accel/kvm/kvm-uapi.h"
#include "accel/kvm/kvm.h"

namespace machina::kvm {

namespace {

constexpr const char* kDevice = "/dev/kvm";
// Where KVM puts the real-mode TSS and identity page table on Intel hosts (as QEMU: below the
// BIOS, out of the way of RAM below 4 GiB).
constexpr uint64_t kTssAddr = 0xfeffd000;
constexpr uint64_t kIdentityMapAddr = 0xfeffc000;

struct Globals {
  std::mutex lock;
  bool tried = false;
  Status result = Status::Ok();
  std::unique_ptr<KvmState> state;
  std::map<unsigned long, std::pair<int, const void*>> parked_vcpus;  // fd, CPU model
};

Globals& globals() {
  static Globals* g = new Globals;
  return *g;
}

std::string errno_text(int err) {
  return std::strerror(err);
}

// -accel kvm's properties; *irqchip: kernel-irqchip=on (the default, as QEMU's).
Status check_props(const QemuOpts& props, bool* irqchip = nullptr) {
  bool on = true;
  for (const QemuOpt& o : props.opts) {
    if (o.name == "kernel-irqchip") {
      if (o.value == "off") {
        on = false;
      } else if (o.value == "on") {
        on = true;
      } else if (o.value == "split") {
        return generic_error(
            "kernel-irqchip=split is not supported (machina has no userspace I/O APIC and 8259 "
            "for KVM's local APICs): use kernel-irqchip=on or off");
      } else {
        return generic_error("Parameter 'kernel-irqchip' does not accept value '" + o.value + "'");
      }
      continue;
    }
    return generic_error("Property 'kvm-accel." + o.name + "' not found");
  }
  if (irqchip) *irqchip = on;
  return Status::Ok();
}

// Opens /dev/kvm and checks the API version; prints QEMU's messages.
Result<int> open_kvm(bool quiet) {
  int fd = ::open(kDevice, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (!quiet) std::fprintf(stderr, "Could not access KVM kernel module: %s\n", strerror(err));
    return generic_error(errno_text(err));
  }
  int v = kvm_ioctl_value(fd, KVM_GET_API_VERSION, 0);
  if (v != KVM_API_VERSION) {
    ::close(fd);
    if (!quiet)
      std::fprintf(stderr, "%s\n",
                   v < KVM_API_VERSION ? "kvm version too old" : "kvm version not supported");
    return generic_error(errno_text(EINVAL));
  }
  return fd;
}

Status require_cap(int fd, int cap, const char* name) {
  if (kvm_ioctl_value(fd, KVM_CHECK_EXTENSION, static_cast<unsigned long>(cap)) > 0)
    return Status::Ok();
  std::fprintf(stderr, "kvm does not support %s\n", name);
  return generic_error(errno_text(ENOSYS));
}

Status read_supported_cpuid(KvmState& s) {
  for (size_t n = 64; n <= 4096; n *= 2) {
    KvmCpuidArray c(n);
    int r = kvm_ioctl(s.fd, kIoctlGetSupportedCpuid, c.data());
    if (r == -E2BIG) continue;
    if (r < 0) return generic_error("KVM_GET_SUPPORTED_CPUID failed: " + errno_text(-r));
    s.supported_cpuid.clear();
    for (size_t i = 0; i < c.count() && i < n; i++) s.supported_cpuid.push_back(c.get(i));
    return Status::Ok();
  }
  return generic_error("KVM_GET_SUPPORTED_CPUID failed: " + errno_text(E2BIG));
}

Status read_msr_list(KvmState& s) {
  KvmMsrIndexArray probe(0);
  int r = kvm_ioctl(s.fd, kIoctlGetMsrIndexList, probe.data());
  if (r < 0 && r != -E2BIG)
    return generic_error("KVM_GET_MSR_INDEX_LIST failed: " + errno_text(-r));
  size_t n = probe.count();
  KvmMsrIndexArray l(n);
  r = kvm_ioctl(s.fd, kIoctlGetMsrIndexList, l.data());
  if (r < 0) return generic_error("KVM_GET_MSR_INDEX_LIST failed: " + errno_text(-r));
  s.msrs.clear();
  for (size_t i = 0; i < l.count() && i < n; i++) s.msrs.push_back(l.get(i));
  return Status::Ok();
}

Status init_locked(Globals& g, const QemuOpts& props) {
  bool irqchip = true;
  if (Status st = check_props(props, &irqchip); !st.ok()) return st;
  auto fd = open_kvm(false);
  if (!fd.ok()) return fd.error();
  auto s = std::make_unique<KvmState>();
  s->fd = fd.value();
  auto fail = [&](Status st) {
    if (s->vm_fd >= 0) ::close(s->vm_fd);
    ::close(s->fd);
    return st;
  };
  int vm;
  do {
    vm = kvm_ioctl_value(s->fd, KVM_CREATE_VM, 0);
  } while (vm == -EINTR);
  if (vm < 0) {
    std::fprintf(stderr, "ioctl(KVM_CREATE_VM) failed: %d %s\n", -vm, strerror(-vm));
    return fail(generic_error(errno_text(-vm)));
  }
  s->vm_fd = vm;
  for (auto [cap, name] : {std::pair{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
                           std::pair{KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
                           std::pair{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"}}) {
    if (Status st = require_cap(s->fd, cap, name); !st.ok()) return fail(st);
  }
  s->immediate_exit = true;
  s->vcpu_mmap_size = kvm_ioctl_value(s->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (s->vcpu_mmap_size < static_cast<int>(sizeof(kvm_run)))
    return fail(generic_error("KVM_GET_VCPU_MMAP_SIZE failed"));
  int slots = kvm_ioctl_value(s->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
  if (slots > 0) s->max_slots = slots;
  s->readonly_mem = kvm_ioctl_value(s->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
  s->coalesced_mmio = kvm_ioctl_value(s->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO) > 0;
  if (Status st = read_supported_cpuid(*s); !st.ok()) return fail(st);
  if (Status st = read_msr_list(*s); !st.ok()) return fail(st);
  if (kvm_ioctl_value(s->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0) {
    int r = kvm_ioctl_value(s->vm_fd, KVM_SET_TSS_ADDR, kTssAddr);
    if (r < 0) return fail(generic_error("KVM_SET_TSS_ADDR failed: " + errno_text(-r)));
  }
  if (kvm_ioctl_value(s->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
    uint64_t addr = kIdentityMapAddr;
    int r = kvm_ioctl(s->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr);
    if (r < 0) return fail(generic_error("KVM_SET_IDENTITY_MAP_ADDR failed: " + errno_text(-r)));
  }
  // Before any vCPU exists, as KVM requires.
  if (irqchip) {
    if (Status st = kvm_irqchip_create(*s); !st.ok()) return fail(st);
  }
  g.state = std::move(s);
  if (Status st = kvm_memory_listener_init(*g.state); !st.ok()) {
    // The listener could not map guest memory: the VM stays unusable.
    ::close(g.state->vm_fd);
    ::close(g.state->fd);
    g.state.reset();
    return st;
  }
  kvm_ioeventfd_listener_init(*g.state);
  kvm_clock_init(*g.state);
  return Status::Ok();
}

}  // namespace

int kvm_ioctl(int fd, unsigned long request, void* arg) {
  int r;
  do {
    r = ::ioctl(fd, request, arg);
  } while (r < 0 && errno == EINTR && request != KVM_RUN);
  return r < 0 ? -errno : r;
}

int kvm_ioctl_value(int fd, unsigned long request, unsigned long arg) {
  int r;
  do {
    r = ::ioctl(fd, request, arg);
  } while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

int kvm_check_extension(int cap) {
  KvmState* s = kvm_state();
  if (!s) return 0;
  int r = kvm_ioctl_value(s->vm_fd, KVM_CHECK_EXTENSION, static_cast<unsigned long>(cap));
  return r < 0 ? 0 : r;
}

KvmState* kvm_state() {
  Globals& g = globals();
  std::lock_guard l(g.lock);
  return g.state.get();
}

Status kvm_init(const QemuOpts& props) {
  Globals& g = globals();
  std::lock_guard l(g.lock);
  // A property error is not a KVM failure: a later attempt with other properties may work.
  if (Status st = check_props(props); !st.ok()) return st;
  if (g.tried) return g.result;
  g.tried = true;
  g.result = init_locked(g, props);
  return g.result;
}

bool kvm_enabled() {
  return kvm_state() != nullptr;
}

bool kvm_available(std::string* why) {
  if (kvm_enabled()) return true;
  auto fd = open_kvm(true);
  if (!fd.ok()) {
    if (why) *why = fd.message();
    return false;
  }
  ::close(fd.value());
  return true;
}

Result<int> kvm_get_vcpu_fd(unsigned long vcpu_id, const void* model, bool* reused) {
  Globals& g = globals();
  std::lock_guard l(g.lock);
  *reused = false;
  if (!g.state) return generic_error("KVM is not initialized");
  if (auto it = g.parked_vcpus.find(vcpu_id); it != g.parked_vcpus.end()) {
    if (it->second.second != model)
      return generic_error("kvm: vCPU " + std::to_string(vcpu_id) +
                           " was created with another CPU model (KVM cannot change it)");
    int fd = it->second.first;
    g.parked_vcpus.erase(it);
    *reused = true;
    return fd;
  }
  int fd = kvm_ioctl_value(g.state->vm_fd, KVM_CREATE_VCPU, vcpu_id);
  if (fd < 0)
    return generic_error("kvm_init_vcpu: KVM_CREATE_VCPU failed (" + std::to_string(vcpu_id) +
                         "): " + errno_text(-fd));
  return fd;
}

void kvm_park_vcpu_fd(unsigned long vcpu_id, int fd, const void* model) {
  Globals& g = globals();
  std::lock_guard l(g.lock);
  g.parked_vcpus[vcpu_id] = {fd, model};
}

}  // namespace machina::kvm
