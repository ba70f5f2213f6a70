// Runs the x86-64 test guests on an accelerator's vCPU thread (see x86_accel_runner.h).
#include "accel/kvm/x86_accel_runner.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "accel/kvm/kvm.h"
#include "guest/x86/accel.h"
#include "guest/x86/mailbox.h"
#include "hw/core/qdev-monitor.h"
#include "hw/core/sysbus.h"
#include "hw/i386/x86-direct-boot.h"
#include "hw/intc/apic-bus.h"
#include "hw/intc/apic.h"
#include "hw/intc/ioapic.h"
#include "hw/misc/testdev.h"
#include "hw/pci-host/q35.h"
#include "hw/pci/pci-device.h"
#include "hw/virtio/virtio-pci.h"
#include "system/accel-irq.h"
#include "system/cpus.h"
#include "system/memory_epoch.h"
#include "system/runstate.h"
#include "target/i386/x86-cpu.h"
#include "util/bql.h"
#include "util/main-loop.h"
#include "util/qemu-timer.h"

namespace machina::test {

std::string x86_guest_dir() {
  return MACHINA_X86_GUEST_DIR;
}

namespace {

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

MemoryRegionOps ops_of(std::function<uint64_t(uint64_t, unsigned)> rd,
                       std::function<void(uint64_t, uint64_t, unsigned)> wr, unsigned max) {
  MemoryRegionOps ops;
  ops.read = std::move(rd);
  ops.write = std::move(wr);
  ops.valid.min_access_size = 1;
  ops.valid.max_access_size = max;
  ops.impl.min_access_size = 1;
  ops.impl.max_access_size = max;
  return ops;
}

}  // namespace

std::string kvm_irqchip_mode() {
  const char* m = std::getenv("MACHINA_TEST_KVM_IRQCHIP");
  return m && *m ? m : "on";
}

std::string X86AccelRunner::unavailable_reason(const std::string& accel) {
  if (accel != "kvm") return "";
  if (kvm::kvm_enabled()) return "";
  QemuOpts props;
  props.opts.push_back({"kernel-irqchip", kvm_irqchip_mode()});
  Status s = kvm::kvm_init(props);
  if (!s.ok()) return "KVM is unusable on this host: " + s.message();
  return "";
}

X86AccelRunner::X86AccelRunner(std::string accel) : accel_(std::move(accel)) {
  virtual_clock_reset_for_test();
  virtual_clock_resume();
  set_current_accel(accel_);
  auto check = [this](const Status& st, const char* what) {
    if (!st.ok() && setup_error_.empty()) setup_error_ = std::string(what) + ": " + st.message();
  };
  check(ram_.init_ram(nullptr, "accel-test-ram", kRamSize), "guest RAM");
  check(get_system_memory()->add_subregion(0, &ram_), "mapping guest RAM");
  check(rom_.init_rom(nullptr, "accel-test-rom", ACC_ROM_SIZE), "ROM");
  if (rom_.host_ptr()) {
    for (uint64_t i = 0; i < ACC_ROM_SIZE / 8; i++) {
      uint64_t w = ACC_ROM_WORD(i);
      std::memcpy(rom_.host_ptr() + i * 8, &w, 8);
    }
  }
  check(get_system_memory()->add_subregion(ACC_ROM, &rom_), "mapping the ROM");
  check(window_.init_ram(nullptr, "accel-test-window", ACC_WIN_SIZE), "RAM window");
  if (window_.host_ptr()) {
    uint64_t m = ACC_WIN_MAGIC;
    std::memcpy(window_.host_ptr(), &m, 8);
  }
  check(get_system_memory()->add_subregion(ACC_WIN_A, &window_), "mapping the RAM window");

  debug_exit_.init_io(nullptr, "accel-test-debug-exit",
                      ops_of([](uint64_t, unsigned) -> uint64_t { return 0; },
                             [this](uint64_t, uint64_t v, unsigned) {
                               value_ = static_cast<uint32_t>(v);
                               reported_ = true;
                             },
                             4),
                      4);
  check(get_system_io()->add_subregion(GT_DEBUG_EXIT_PORT, &debug_exit_), "debug-exit port");
  debugcon_.init_io(nullptr, "accel-test-debugcon",
                    ops_of([](uint64_t, unsigned) -> uint64_t { return 0xe9; },
                           [this](uint64_t, uint64_t v, unsigned) {
                             if (console_.size() < 64 * 1024)
                               console_.push_back(static_cast<char>(v));
                           },
                           1),
                    1);
  check(get_system_io()->add_subregion(GT_DEBUGCON_PORT, &debugcon_), "debug console port");
  ports_.init_io(nullptr, "accel-test-ports",
                 ops_of([this](uint64_t a, unsigned s) { return port_read(a, s); },
                        [this](uint64_t a, uint64_t v, unsigned s) { port_write(a, v, s); }, 4),
                 16);
  check(get_system_io()->add_subregion(ACC_PORT_BASE, &ports_), "test ports");
  mmio_.init_io(nullptr, "accel-test-mmio",
                ops_of([this](uint64_t a, unsigned s) { return mmio_read(a, s); },
                       [this](uint64_t a, uint64_t v, unsigned s) { mmio_write(a, v, s); }, 8),
                0x1000);
  check(get_system_memory()->add_subregion(ACC_MMIO, &mmio_), "test MMIO");

  DeviceOptions o;
  o.driver = kTypeTestdevGpio;
  o.id = "accel-test-gpio";
  auto d = qdev_device_add(o);
  if (d.ok())
    gpio_ = d.value();
  else
    check(d.status(), "machina-testdev-gpio");
}

X86AccelRunner::~X86AccelRunner() {
  remove_virtio();
  if (pci_host_) pci_host_->unparent();
  if (gpio_) gpio_->unparent();
  MemoryTransaction t;
  (void)get_system_memory()->del_subregion(&mmio_);
  (void)get_system_io()->del_subregion(&ports_);
  (void)get_system_io()->del_subregion(&debugcon_);
  (void)get_system_io()->del_subregion(&debug_exit_);
  (void)get_system_memory()->del_subregion(&window_);
  (void)get_system_memory()->del_subregion(&rom_);
  (void)get_system_memory()->del_subregion(&ram_);
  set_current_accel("none");
  virtual_clock_pause();
}

Status X86AccelRunner::add_virtio_rng(bool ioeventfd) {
  BqlGuard bql;
  if (!pci_host_) {
    auto h = q35_host_create(kRamSize, 0);
    if (!h.ok()) return h.error();
    pci_host_ = h.value();
  }
  DeviceOptions o;
  o.driver = "virtio-rng-pci";
  o.id = "accel-virtio";
  o.bus = "pcie.0";
  o.props = {{"addr", json("2.0")}, {"ioeventfd", json(ioeventfd ? "on" : "off")}};
  auto d = qdev_device_add(o);
  if (!d.ok()) return d.status();
  virtio_pci_ = d.value();
  auto* pci = static_cast<PciDevice*>(virtio_pci_);
  // What firmware leaves behind: the BARs placed, decoding and bus mastering on, MSI-X enabled.
  pci->config_write(0x10, ACC_VIRTIO_LEGACY, 4);  // BAR 0 (I/O)
  pci->config_write(0x14, ACC_VIRTIO_MSIX, 4);    // BAR 1 (32-bit memory)
  pci->config_write(0x20, ACC_VIRTIO_BAR, 4);     // BAR 4 (64-bit memory), low
  pci->config_write(0x24, 0, 4);                  // and high
  pci->config_write(0x04, 0x7, 2);                // I/O, memory, bus master
  for (uint32_t cap = pci->config_read(0x34, 1) & 0xfc, n = 0; cap && n < 48; n++) {
    if ((pci->config_read(cap, 1) & 0xff) == 0x11) {  // MSI-X: enable
      pci->config_write(cap + 2, pci->config_read(cap + 2, 2) | 0x8000, 2);
      return Status::Ok();
    }
    cap = pci->config_read(cap + 1, 1) & 0xfc;
  }
  return generic_error("virtio-rng-pci has no MSI-X capability");
}

VirtioDevice* X86AccelRunner::virtio_backend() const {
  auto* p = dynamic_cast<VirtioPciProxy*>(virtio_pci_);
  return p ? p->vdev() : nullptr;
}

void X86AccelRunner::remove_virtio() {
  if (!virtio_pci_) return;
  {
    BqlGuard bql;
    virtio_pci_->unparent();
    virtio_pci_ = nullptr;
  }
  // The memory views that mapped its regions hold it until no access can still see them.
  (void)epoch_drain();
}

uint64_t X86AccelRunner::port_read(uint64_t addr, unsigned size) {
  uint64_t mask = size >= 4 ? 0xffffffffu : (uint64_t{1} << (size * 8)) - 1;
  switch (addr) {
    case 0x0:
      return port_scratch_ & mask;
    case 0x4:
      return ~port_scratch_ & mask;
    case 0xc:
      return (sink_sum_ & 0xffffff) | (sink_count_ << 24);
    default:
      return mask;
  }
}

void X86AccelRunner::port_write(uint64_t addr, uint64_t v, unsigned size) {
  uint64_t mask = size >= 4 ? 0xffffffffu : (uint64_t{1} << (size * 8)) - 1;
  if (addr == 0x0) port_scratch_ = static_cast<uint32_t>(v & mask);
  if (addr == 0x8) {
    sink_sum_ += static_cast<uint32_t>(v & 0xff);
    sink_count_++;
  }
}

uint64_t X86AccelRunner::mmio_read(uint64_t addr, unsigned size) {
  mmio_accesses_++;
  uint64_t mask = size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (size * 8)) - 1;
  if (addr < 8) return (mmio_scratch_ >> (addr * 8)) & mask;
  if (addr == 0x08) return ~mmio_scratch_ & mask;
  if (addr == 0x10) return moves_ & mask;
  if (addr == 0x18) return mmio_accesses_ & mask;
  return mask;
}

void X86AccelRunner::mmio_write(uint64_t addr, uint64_t v, unsigned size) {
  mmio_accesses_++;
  if (addr < 8) {
    unsigned n = std::min<unsigned>(size, static_cast<unsigned>(8 - addr));
    for (unsigned i = 0; i < n; i++) {
      unsigned sh = static_cast<unsigned>((addr + i) * 8);
      mmio_scratch_ = (mmio_scratch_ & ~(uint64_t{0xff} << sh)) | (((v >> (i * 8)) & 0xff) << sh);
    }
  } else if (addr == 0x10 && (v == 1 || v == 2)) {
    move_window(v == 1);
  } else if (addr == 0x20) {
    ApicMessage m;
    m.dest = 0;
    m.vector = static_cast<uint8_t>(v);
    apic_bus_deliver(m);
  } else if (addr == 0x28) {
    set_gsi(static_cast<unsigned>(v & 0xff), static_cast<int>((v >> 8) & 1));
  }
}

void X86AccelRunner::set_gsi(unsigned gsi, int level) {
  if (gsi >= kIoapicPins) return;
  if (ioapic_) {
    ioapic_->gpio_in("", gsi == 0 ? 2 : int(gsi))->set(level);
  } else {
    accel_set_gsi(gsi, level);  // KVM_IRQ_LINE: KVM's routes put GSI 0 on pin 2 too
  }
}

void X86AccelRunner::move_window(bool to_b) {
  if (to_b == window_at_b_) return;
  MemoryTransaction t;
  (void)get_system_memory()->del_subregion(&window_);
  (void)get_system_memory()->add_subregion(to_b ? ACC_WIN_B : ACC_WIN_A, &window_);
  window_at_b_ = to_b;
  moves_++;
  if (after_move) after_move(to_b);
}

uint64_t X86AccelRunner::mailbox(unsigned offset) const {
  uint64_t v;
  std::memcpy(&v, ram_.host_ptr() + GT_MAILBOX + offset, 8);
  return v;
}

std::string X86AccelRunner::explain(const AccelOutcome& o) const {
  if (!o.started) return "the guest never reached its start-up code (stopped: " + o.stop + ")";
  auto exception_record = [&] {
    return "vector " + hex(mailbox(GT_MB_VEC)) + " error " + hex(mailbox(GT_MB_ERR)) + " RIP " +
           hex(mailbox(GT_MB_RIP)) + " CS " + hex(mailbox(GT_MB_CS)) + " RFLAGS " +
           hex(mailbox(GT_MB_RFLAGS)) + " CR2 " + hex(mailbox(GT_MB_CR2)) + " (" +
           std::to_string(mailbox(GT_MB_COUNT)) + " exceptions so far)";
  };
  if (!o.reported)
    return "no report; the CPU stopped (" + o.stop + ") at RIP " + hex(o.rip) +
           "; last exception: " + exception_record();
  if (o.value == GT_PASS) return "";
  if ((o.value & GT_UNEXPECTED_BASE) == GT_UNEXPECTED_BASE && o.value <= 0x1ffff)
    return "unexpected exception: " + exception_record();
  std::string name = "?";
  uint64_t desc = mailbox(GT_MB_DESC);
  if (desc && desc < kRamSize) {
    const char* p = reinterpret_cast<const char*>(ram_.host_ptr() + desc);
    name.assign(p, strnlen(p, std::min<uint64_t>(256, kRamSize - desc)));
  }
  return "check " + hex(o.value) + " failed: \"" + name + "\": actual " +
         hex(mailbox(GT_MB_ACTUAL)) + ", expected " + hex(mailbox(GT_MB_EXPECTED)) +
         "; last exception: " + exception_record();
}

AccelOutcome X86AccelRunner::run(const std::string& name, const std::string& cmdline,
                                 int timeout_ms) {
  AccelOutcome o;
  if (!setup_error_.empty()) {
    o.explanation = setup_error_;
    return o;
  }
  if (ran_) {
    o.explanation = "an X86AccelRunner runs one guest";
    return o;
  }
  ran_ = true;
  DirectBootConfig cfg;
  cfg.kernel = x86_guest_dir() + "/" + name + ".elf";
  cfg.cmdline = cmdline;
  cfg.below_4g_ram = kRamSize;
  cfg.e820 = pc_e820_map(kRamSize, 0);
  auto boot = x86_load_linux(cfg);
  if (!boot.ok()) {
    o.explanation = boot.message();
    return o;
  }
  o.loaded = true;
  const DirectBootState& st = boot.value();
  // The CPUs and their local APICs, wired as the PC wires them (hw/i386/x86-cpus.cc). Only the
  // boot CPU's APIC page is mapped: each vCPU thread reaches its own APIC through it. With KVM's
  // local APICs (kernel-irqchip=on) the models stay unmapped, for the APIC base and the wait for
  // the start-up IPI; KVM handles the page at 0xfee00000 and takes the APIC bus's messages.
  bool own_apic = !(accel_ == "kvm" && kvm::kvm_irqchip_in_kernel());
  std::vector<Ref<x86::X86Cpu>> cpus;
  for (unsigned i = 0; i < cpus_; i++) {
    auto cpu = make_object<x86::X86Cpu>(x86::x86_cpu_type_name("qemu64"));
    if (!cpu) {
      o.explanation = "could not create the qemu64 CPU";
      return o;
    }
    cpu->set_apic_id(i);
    auto a = object_new(kTypeApic);
    if (!a.ok()) {
      o.explanation = a.message();
      return o;
    }
    auto* apic = static_cast<Apic*>(a.value().get());
    apic->initial_id = static_cast<uint8_t>(i);
    Status s = cpu->add_child("lapic", apic);
    apic->set_cpu(cpu.get());
    apic->set_bsp(i == 0);
    if (s.ok()) s = apic->realize();
    if (s.ok() && own_apic && i == 0)
      s = get_system_memory()->add_subregion(0xfee00000, apic->mmio(), 0x1000);
    if (!s.ok()) {
      o.explanation = "local APIC: " + s.message();
      return o;
    }
    cpu->set_local_interrupt_controller(apic);
    cpu->reset_state(false);  // application processors now wait for their start-up IPI
    apics_.push_back(apic);
    cpus.push_back(std::move(cpu));
  }
  if (own_apic) {
    // And an I/O APIC for the board lines (+0x28).
    auto io = sysbus_create(kTypeIoapic, "accel-test-ioapic");
    if (!io.ok()) {
      o.explanation = "I/O APIC: " + io.message();
      return o;
    }
    ioapic_ = static_cast<IoApic*>(io.value());
    if (Status s = get_system_memory()->add_subregion(kIoapicDefaultBase, ioapic_->mmio());
        !s.ok()) {
      o.explanation = "I/O APIC: " + s.message();
      return o;
    }
  }
  // The one description of the 64-bit entry state, whichever accelerator loads it.
  cpus[0]->enter_long_mode(st.cr3, st.gdt_base, st.gdt_limit, st.entry, st.zero_page);
  std::vector<std::unique_ptr<Vcpu>> vcpus;
  for (auto& cpu : cpus) {
    auto vcpu = accel_create_vcpu(*cpu);
    if (!vcpu.ok() || !vcpu.value()) {
      o.explanation = vcpu.ok() ? "no vCPU for accelerator " + accel_ : vcpu.message();
      o.stop = "error";
      return o;
    }
    vcpus.push_back(std::move(vcpu.value()));
  }
  set_no_reboot(true);  // a triple fault becomes a shutdown request, seen below
  auto t0 = std::chrono::steady_clock::now();
  for (auto& v : vcpus) v->resume();
  auto any_failed = [&] {
    return std::any_of(vcpus.begin(), vcpus.end(), [](auto& v) { return v->failed(); });
  };
  for (;;) {
    if (reported_) {
      o.stop = "port";
      break;
    }
    if (any_failed()) {
      o.stop = "error";
      break;
    }
    if (shutdown_requested()) {
      o.stop = "triple fault";
      (void)handle_shutdown_request();
      break;
    }
    if (std::chrono::steady_clock::now() - t0 > std::chrono::milliseconds(timeout_ms)) {
      o.stop = "timeout";
      break;
    }
    // The devices' work (virtio queue handlers, their backends) runs on the main loop.
    main_loop().run_once(200 * 1000);
  }
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& v : vcpus) v->pause();
  o.rip = cpus[0]->state().rip;
  for (auto& cpu : cpus) o.cpu_states.push_back(cpu->state());
  vcpus.clear();
  if (ioapic_) {
    (void)get_system_memory()->del_subregion(ioapic_->mmio());
    ioapic_->unparent();
    ioapic_ = nullptr;
  }
  for (size_t i = 0; i < apics_.size(); i++) {
    if (own_apic && i == 0) (void)get_system_memory()->del_subregion(apics_[i]->mmio());
    cpus[i]->set_local_interrupt_controller(nullptr);
    apics_[i]->unparent();
  }
  apics_.clear();
  set_no_reboot(false);
  o.started = mailbox(GT_MB_MAGIC) == GT_MAGIC_VALUE;
  o.reported = reported_;
  o.value = value_;
  o.console = console_;
  o.explanation = explain(o);
  if (!o.console.empty() && o.value != GT_PASS) o.explanation += "\nguest console:\n" + o.console;
  return o;
}

}  // namespace machina::test
