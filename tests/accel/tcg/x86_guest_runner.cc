// Runs the x86-64 system test guests on the software CPU (see x86_guest_runner.h).
#include "accel/tcg/x86_guest_runner.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "accel/tcg/tcg-cpu-exec.h"
#include "guest/x86/mailbox.h"
#include "hw/i386/x86-direct-boot.h"
#include "target/i386/x86-cpu.h"
#include "util/qemu-timer.h"

namespace machina::test {

std::string x86_guest_dir() {
  return MACHINA_X86_GUEST_DIR;
}

X86GuestRunner::X86GuestRunner() {
  virtual_clock_reset_for_test();
  virtual_clock_resume();  // RDTSC follows the virtual clock
  auto check = [this](const Status& st, const char* what) {
    if (!st.ok() && setup_error_.empty()) setup_error_ = std::string(what) + ": " + st.message();
  };
  check(ram_.init_ram(nullptr, "x86-guest-test-ram", kRamSize), "guest RAM");
  check(get_system_memory()->add_subregion(0, &ram_), "mapping guest RAM");
  MemoryRegionOps ops;
  ops.read = [](uint64_t, unsigned) -> uint64_t { return 0; };
  ops.write = [this](uint64_t, uint64_t data, unsigned) {
    port_written_ = true;
    port_value_ = static_cast<uint32_t>(data);
    if (cpu_) cpu_->raise_interrupt(x86::kCpuIrqExit);
  };
  ops.valid.min_access_size = 1;
  ops.valid.max_access_size = 4;
  ops.impl.min_access_size = 1;
  ops.impl.max_access_size = 4;
  debug_exit_.init_io(nullptr, "x86-guest-test-debug-exit", std::move(ops), 4);
  check(get_system_io()->add_subregion(GT_DEBUG_EXIT_PORT, &debug_exit_), "debug-exit port");
  MemoryRegionOps con;
  con.read = [](uint64_t, unsigned) -> uint64_t { return 0xe9; };  // as QEMU's debugcon
  con.write = [this](uint64_t, uint64_t data, unsigned) {
    if (console_.size() < 64 * 1024) console_.push_back(static_cast<char>(data));
  };
  debugcon_.init_io(nullptr, "x86-guest-test-debugcon", std::move(con), 1);
  check(get_system_io()->add_subregion(GT_DEBUGCON_PORT, &debugcon_), "debug console port");
}

X86GuestRunner::~X86GuestRunner() {
  (void)get_system_io()->del_subregion(&debugcon_);
  (void)get_system_io()->del_subregion(&debug_exit_);
  (void)get_system_memory()->del_subregion(&ram_);
  virtual_clock_pause();
}

uint64_t X86GuestRunner::mailbox(unsigned offset) const {
  uint64_t v;
  std::memcpy(&v, ram_.host_ptr() + GT_MAILBOX + offset, 8);
  return v;
}

namespace {

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

}  // namespace

std::string X86GuestRunner::explain(const GuestOutcome& o) const {
  std::string s;
  if (!o.started) return "the guest never reached its start-up code";
  auto exception_record = [&] {
    return "vector " + hex(mailbox(GT_MB_VEC)) + " error " + hex(mailbox(GT_MB_ERR)) + " RIP " +
           hex(mailbox(GT_MB_RIP)) + " CS " + hex(mailbox(GT_MB_CS)) + " RFLAGS " +
           hex(mailbox(GT_MB_RFLAGS)) + " RSP " + hex(mailbox(GT_MB_RSP)) + " SS " +
           hex(mailbox(GT_MB_SS)) + " CR2 " + hex(mailbox(GT_MB_CR2)) + " (" +
           std::to_string(mailbox(GT_MB_COUNT)) + " exceptions so far)";
  };
  if (!o.reported) {
    s = "no report; the CPU stopped (" + o.stop + ") at RIP " + hex(o.rip) +
        "; last exception: " + exception_record();
    return s;
  }
  if (o.value == GT_PASS) return "";
  if ((o.value & GT_UNEXPECTED_BASE) == GT_UNEXPECTED_BASE && o.value <= 0x1ffff) {
    return "unexpected exception: " + exception_record();
  }
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

GuestOutcome X86GuestRunner::run(const std::string& name, const std::string& cmdline,
                                 uint64_t budget) {
  GuestOutcome o;
  port_written_ = false;
  port_value_ = 0;
  console_.clear();
  if (!setup_error_.empty()) {
    o.explanation = setup_error_;
    return o;
  }
  // Every guest runs on fresh (zeroed) RAM: the mailbox must not show an earlier run's results.
  if (ran_) {
    o.explanation = "an X86GuestRunner runs one guest";
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

  auto cpu = make_object<x86::X86Cpu>(x86::x86_cpu_type_name("qemu64"));
  if (!cpu) {
    o.explanation = "could not create the qemu64 CPU";
    return o;
  }
  cpu_ = cpu.get();
  cpu->enter_long_mode(st.cr3, st.gdt_base, st.gdt_limit, st.entry, st.zero_page);
  {
    tcg::CpuExec exec(*cpu);
    constexpr uint64_t kSlice = 1'000'000;
    for (uint64_t spent = 0;; spent += kSlice) {
      if (spent >= budget) {
        o.stop = "budget";
        break;
      }
      tcg::ExitReason r = exec.run(std::min(kSlice, budget - spent));
      if (r == tcg::ExitReason::ExitRequest) {
        o.stop = port_written_ ? "port" : "exit request";
        break;
      }
      if (r == tcg::ExitReason::Halted) {
        o.stop = "halt";
        break;
      }
      if (r == tcg::ExitReason::TripleFault) {
        o.stop = "triple fault";
        break;
      }
    }
    o.instructions = exec.instructions();
  }
  o.rip = cpu->state().rip;
  cpu_ = nullptr;
  o.started = mailbox(GT_MB_MAGIC) == GT_MAGIC_VALUE;
  o.reported = port_written_;
  o.value = port_value_;
  o.console = console_;
  o.explanation = explain(o);
  if (!o.console.empty() && o.value != GT_PASS) o.explanation += "\nguest console:\n" + o.console;
  return o;
}

}  // namespace machina::test
