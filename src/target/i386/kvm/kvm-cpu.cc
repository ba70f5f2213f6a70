// CpuState <-> KVM vCPU, and the CPUID table (see kvm-cpu.h).
#include "target/i386/kvm/kvm-cpu.h"

#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "accel/kvm/kvm-uapi.h"
#include "target/i386/cpu-interrupts.h"
#include "target/i386/kvm/kvm-para.h"
#include "target/i386/msr.h"

namespace machina::x86 {

namespace {

int xioctl(int fd, unsigned long req, void* arg) {
  int r;
  do {
    r = ::ioctl(fd, req, arg);
  } while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

Status ioctl_error(const char* what, int r) {
  return generic_error(std::string("kvm: ") + what + " failed: " + std::strerror(-r));
}

const kvm_cpuid_entry2* find_leaf(const std::vector<kvm_cpuid_entry2>& v, uint32_t fn,
                                  uint32_t index) {
  for (const auto& e : v)
    if (e.function == fn && e.index == index) return &e;
  return nullptr;
}

kvm_segment to_kvm(const SegmentCache& sc) {
  kvm_segment k{};
  k.base = sc.base;
  k.limit = sc.limit;
  k.selector = sc.selector;
  k.type = static_cast<uint8_t>((sc.flags >> 8) & 0xf);
  k.s = (sc.flags >> 12) & 1;
  k.dpl = (sc.flags >> 13) & 3;
  k.present = (sc.flags >> 15) & 1;
  k.avl = (sc.flags >> 20) & 1;
  k.l = (sc.flags >> 21) & 1;
  k.db = (sc.flags >> 22) & 1;
  k.g = (sc.flags >> 23) & 1;
  k.unusable = !k.present;
  return k;
}

SegmentCache from_kvm(const kvm_segment& k) {
  SegmentCache sc;
  sc.base = k.base;
  sc.limit = k.limit;
  sc.selector = k.selector;
  sc.flags = (uint32_t{k.type} << 8) | (uint32_t{k.s} << 12) | (uint32_t{k.dpl} << 13) |
             (uint32_t{k.present && !k.unusable} << 15) | (uint32_t{k.avl} << 20) |
             (uint32_t{k.l} << 21) | (uint32_t{k.db} << 22) | (uint32_t{k.g} << 23);
  return sc;
}

// The MSRs machina keeps in CpuState and hands to KVM (EFER travels in the sregs).
struct MsrField {
  uint32_t index;
  uint64_t CpuState::*field;
};
constexpr MsrField kMsrs[] = {
    {msr::kStar, &CpuState::star},
    {msr::kLstar, &CpuState::lstar},
    {msr::kCstar, &CpuState::cstar},
    {msr::kSfmask, &CpuState::sfmask},
    {msr::kKernelGsBase, &CpuState::kernel_gs_base},
    {msr::kSysenterCs, &CpuState::sysenter_cs},
    {msr::kSysenterEsp, &CpuState::sysenter_esp},
    {msr::kSysenterEip, &CpuState::sysenter_eip},
    {msr::kPat, &CpuState::pat},
    {msr::kTscAux, &CpuState::tsc_aux},
};

std::vector<uint32_t> msrs_to_sync(const std::vector<uint32_t>& kvm_list) {
  std::vector<uint32_t> out;
  for (const MsrField& m : kMsrs)
    if (std::find(kvm_list.begin(), kvm_list.end(), m.index) != kvm_list.end())
      out.push_back(m.index);
  return out;
}

using kvm::KvmMsrArray;

uint64_t CpuState::*field_of(uint32_t index) {
  for (const MsrField& m : kMsrs)
    if (m.index == index) return m.field;
  return nullptr;
}

}  // namespace

std::vector<kvm_cpuid_entry2> kvm_x86_cpuid(const X86CpuModel& model, uint32_t apic_id,
                                            const X86CpuTopology& topo,
                                            const std::vector<kvm_cpuid_entry2>& supported,
                                            bool irqchip_in_kernel) {
  if (model.host) {
    // -cpu host: everything KVM can run, as a hypervisor's CPU, with this CPU's APIC ID and the
    // machine's topology.
    std::vector<kvm_cpuid_entry2> out = supported;
    uint32_t mine[4];
    for (kvm_cpuid_entry2& e : out) {
      if (e.function == 1) {
        cpuid_query(model, apic_id, topo, 1, 0, mine);
        e.ebx = (e.ebx & 0x0000ffffu) | (mine[1] & 0xffff0000u);
        e.edx = (e.edx & ~(1u << 28)) | (mine[3] & (1u << 28));
        e.ecx |= feat::kHypervisor;
      }
      if (e.function == 0xb && e.index <= 1) {
        cpuid_query(model, apic_id, topo, 0xb, e.index, mine);
        e.eax = mine[0];
        e.ebx = mine[1];
        e.ecx = mine[2];
      }
      if (e.function == 0xb || e.function == 0x1f) e.edx = apic_id;  // x2APIC ID
    }
    kvm_para_limit_to_irqchip(out, irqchip_in_kernel);
    return out;
  }
  std::vector<kvm_cpuid_entry2> out;
  auto add_range = [&](uint32_t first) {
    uint32_t r[4];
    cpuid_query(model, apic_id, topo, first, 0, r);
    uint32_t last = r[0];
    for (uint32_t fn = first; fn <= last && fn - first < 0x100; fn++) {
      // The extended topology has its levels 0 and 1 and the invalid level 2 that ends the list.
      uint32_t subleaves = fn == 0xb ? 3 : 1;
      for (uint32_t sub = 0; sub < subleaves; sub++) {
        cpuid_query(model, apic_id, topo, fn, sub, r);
        kvm_cpuid_entry2 e{};
        e.function = fn;
        e.index = sub;
        e.eax = r[0];
        e.ebx = r[1];
        e.ecx = r[2];
        e.edx = r[3];
        // Subleaf-indexed leaves: the model answers subleaf 0 (and zeros for the others), the
        // topology leaf each of its levels.
        if (fn == 4 || fn == 7 || fn == 0xb || fn == 0xd) e.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        out.push_back(e);
      }
    }
  };
  add_range(0);
  add_range(0x80000000);
  // Feature words: only what KVM can run (the hypervisor bit is the model's to give).
  for (kvm_cpuid_entry2& e : out) {
    if (e.function != 1 && e.function != 0x80000001) continue;
    const kvm_cpuid_entry2* s = find_leaf(supported, e.function, 0);
    uint32_t hv = e.function == 1 ? (e.ecx & feat::kHypervisor) : 0;
    e.ecx = (s ? e.ecx & s->ecx : 0) | hv;
    e.edx = s ? e.edx & s->edx : 0;
  }
  // As QEMU's models under KVM: the hypervisor's own leaves, with its default features.
  for (const kvm_cpuid_entry2& e :
       kvm_para_cpuid(kvm_para_default_features(), supported, irqchip_in_kernel))
    out.push_back(e);
  return out;
}

Status kvm_x86_set_cpuid(int vcpu_fd, const X86CpuModel& model, uint32_t apic_id,
                         const X86CpuTopology& topo, const std::vector<kvm_cpuid_entry2>& supported,
                         bool irqchip_in_kernel) {
  auto entries = kvm_x86_cpuid(model, apic_id, topo, supported, irqchip_in_kernel);
  kvm::KvmCpuidArray c(entries.size());
  for (size_t i = 0; i < entries.size(); i++) c.set(i, entries[i]);
  int r = xioctl(vcpu_fd, kvm::kIoctlSetCpuid2, c.data());
  if (r < 0) return ioctl_error("KVM_SET_CPUID2", r);
  return Status::Ok();
}

Status kvm_x86_put_registers(int fd, const CpuState& env, const std::vector<uint32_t>& kvm_msrs) {
  kvm_regs regs{};
  __u64* g[16] = {&regs.rax, &regs.rcx, &regs.rdx, &regs.rbx, &regs.rsp, &regs.rbp,
                  &regs.rsi, &regs.rdi, &regs.r8,  &regs.r9,  &regs.r10, &regs.r11,
                  &regs.r12, &regs.r13, &regs.r14, &regs.r15};
  for (int i = 0; i < 16; i++) *g[i] = env.regs[i];
  regs.rip = env.rip;
  regs.rflags = env.rflags();
  if (int r = xioctl(fd, KVM_SET_REGS, &regs); r < 0) return ioctl_error("KVM_SET_REGS", r);

  kvm_sregs sregs{};
  kvm_segment* segs[6] = {&sregs.es, &sregs.cs, &sregs.ss, &sregs.ds, &sregs.fs, &sregs.gs};
  for (int i = 0; i < 6; i++) *segs[i] = to_kvm(env.seg[i]);
  if (env.long_mode()) {
    sregs.fs.base = env.fs_base;
    sregs.gs.base = env.gs_base;
  }
  sregs.tr = to_kvm(env.tr);
  sregs.ldt = to_kvm(env.ldtr);
  sregs.gdt.base = env.gdtr.base;
  sregs.gdt.limit = static_cast<uint16_t>(env.gdtr.limit);
  sregs.idt.base = env.idtr.base;
  sregs.idt.limit = static_cast<uint16_t>(env.idtr.limit);
  sregs.cr0 = env.cr0;
  sregs.cr2 = env.cr2;
  sregs.cr3 = env.cr3;
  sregs.cr4 = env.cr4;
  sregs.efer = env.efer;
  sregs.cr8 = env.lapic ? env.lapic->cr8() : 0;
  // Without a local APIC model the vCPU still has KVM's view of one: enabled, the BSP's.
  sregs.apic_base = env.lapic ? env.lapic->apic_base() : 0xfee00900;
  if (int r = xioctl(fd, KVM_SET_SREGS, &sregs); r < 0) return ioctl_error("KVM_SET_SREGS", r);

  kvm_fpu fpu{};
  for (int i = 0; i < 8; i++) {
    std::memcpy(fpu.fpr[i], &env.fpu.r[i].mant, 8);
    std::memcpy(fpu.fpr[i] + 8, &env.fpu.r[i].sign_exp, 2);
  }
  fpu.fcw = env.fpu.fcw;
  fpu.fsw = env.fpu.status_word();
  fpu.ftwx = env.fpu.ftw;
  fpu.last_opcode = env.fpu.fop;
  fpu.last_ip = env.fpu.fip;
  fpu.last_dp = env.fpu.fdp;
  for (int i = 0; i < 16; i++) std::memcpy(fpu.xmm[i], &env.fpu.xmm[i], 16);
  fpu.mxcsr = env.fpu.mxcsr;
  if (int r = xioctl(fd, KVM_SET_FPU, &fpu); r < 0) return ioctl_error("KVM_SET_FPU", r);

  auto list = msrs_to_sync(kvm_msrs);
  if (!list.empty()) {
    KvmMsrArray b(list.size());
    for (size_t i = 0; i < list.size(); i++) {
      kvm_msr_entry e{};
      e.index = list[i];
      e.data = env.*field_of(list[i]);
      b.set(i, e);
    }
    int r = xioctl(fd, kvm::kIoctlSetMsrs, b.data());
    if (r < 0) return ioctl_error("KVM_SET_MSRS", r);
    if (static_cast<size_t>(r) < list.size()) {
      char msg[96];
      std::snprintf(msg, sizeof msg, "kvm: KVM_SET_MSRS refused MSR 0x%x (value 0x%llx)", list[r],
                    static_cast<unsigned long long>(b.get(static_cast<size_t>(r)).data));
      return generic_error(msg);
    }
  }
  return kvm_para_reset_msrs(fd, kvm_msrs);
}

Status kvm_x86_get_registers(int fd, CpuState& env, const std::vector<uint32_t>& kvm_msrs) {
  kvm_regs regs{};
  if (int r = xioctl(fd, KVM_GET_REGS, &regs); r < 0) return ioctl_error("KVM_GET_REGS", r);
  const uint64_t g[16] = {regs.rax, regs.rcx, regs.rdx, regs.rbx, regs.rsp, regs.rbp,
                          regs.rsi, regs.rdi, regs.r8,  regs.r9,  regs.r10, regs.r11,
                          regs.r12, regs.r13, regs.r14, regs.r15};
  for (int i = 0; i < 16; i++) env.regs[i] = g[i];
  env.rip = regs.rip;
  env.set_rflags(regs.rflags);

  kvm_sregs sregs{};
  if (int r = xioctl(fd, KVM_GET_SREGS, &sregs); r < 0) return ioctl_error("KVM_GET_SREGS", r);
  const kvm_segment* segs[6] = {&sregs.es, &sregs.cs, &sregs.ss, &sregs.ds, &sregs.fs, &sregs.gs};
  for (int i = 0; i < 6; i++) env.seg[i] = from_kvm(*segs[i]);
  env.fs_base = sregs.fs.base;
  env.gs_base = sregs.gs.base;
  env.tr = from_kvm(sregs.tr);
  env.ldtr = from_kvm(sregs.ldt);
  env.gdtr = {sregs.gdt.base, sregs.gdt.limit};
  env.idtr = {sregs.idt.base, sregs.idt.limit};
  env.cr0 = sregs.cr0;
  env.cr2 = sregs.cr2;
  env.cr3 = sregs.cr3;
  env.cr4 = sregs.cr4;
  env.efer = sregs.efer;
  env.cpl = env.seg[SS].dpl();

  kvm_fpu fpu{};
  if (int r = xioctl(fd, KVM_GET_FPU, &fpu); r < 0) return ioctl_error("KVM_GET_FPU", r);
  for (int i = 0; i < 8; i++) {
    std::memcpy(&env.fpu.r[i].mant, fpu.fpr[i], 8);
    std::memcpy(&env.fpu.r[i].sign_exp, fpu.fpr[i] + 8, 2);
  }
  env.fpu.fcw = fpu.fcw;
  env.fpu.set_status_word(fpu.fsw);
  env.fpu.ftw = fpu.ftwx;
  env.fpu.fop = fpu.last_opcode;
  env.fpu.fip = fpu.last_ip;
  env.fpu.fdp = fpu.last_dp;
  for (int i = 0; i < 16; i++) std::memcpy(&env.fpu.xmm[i], fpu.xmm[i], 16);
  env.fpu.mxcsr = fpu.mxcsr;

  auto list = msrs_to_sync(kvm_msrs);
  if (!list.empty()) {
    KvmMsrArray b(list.size());
    for (size_t i = 0; i < list.size(); i++) {
      kvm_msr_entry e{};
      e.index = list[i];
      b.set(i, e);
    }
    int r = xioctl(fd, kvm::kIoctlGetMsrs, b.data());
    if (r < 0) return ioctl_error("KVM_GET_MSRS", r);
    for (int i = 0; i < r && static_cast<size_t>(i) < list.size(); i++)
      env.*field_of(list[i]) = b.get(static_cast<size_t>(i)).data;
  }
  return Status::Ok();
}

}  // namespace machina::x86
