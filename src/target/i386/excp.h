// Delivery of exceptions and interrupts through the 64-bit IDT (SDM vol. 3, ch. 6.14), with the
// double-fault and triple-fault rules.
#pragma once

#include <cstdint>

#include "target/i386/cpu.h"

namespace machina::x86 {

enum class EventKind : uint8_t {
  Exception,  // a fault or trap raised by the CPU
  External,   // an interrupt from the interrupt controller, or NMI
  Software,   // INT n, INT3, INTO (the gate's DPL is checked against CPL)
};

// Delivers one event: pushes the interrupt frame on the right stack (RSP0 on a privilege change,
// IST when the gate names one) and enters the handler. `return_rip` is the RIP pushed (the
// faulting instruction for faults, the next one for traps and interrupts). Returns false, with
// the nested exception in s.exc, when delivery itself faults.
bool deliver_event(CpuState& s, CpuMemory& m, uint8_t vector, EventKind kind, bool has_error,
                   uint32_t error_code, uint64_t return_rip);

// What the CPU does with the exception in s.exc raised by the instruction at s.rip (faults) or
// reported after it: delivers it, escalating to #DF when delivery faults, as the SDM's table of
// contributory and page-fault classes says. Returns false on a triple fault (the machine must
// shut down / reset). Clears s.exc.
bool deliver_pending_exception(CpuState& s, CpuMemory& m, uint64_t return_rip);

// Whether `vector` has an error code pushed with it.
bool exception_has_error_code(uint8_t vector);

}  // namespace machina::x86
