// The MSI-X capability (PCI Local Bus 3.0, 6.8.2), as QEMU's hw/pci/msix.c: a table of message
// address/data/vector-control entries and a pending-bit array (PBA), both in memory BARs.
//
// Capability (12 bytes): +2 Message Control (table size - 1 in bits 10:0, Function Mask bit 14,
// MSI-X Enable bit 15 — the two writable bits), +4 table offset | BIR, +8 PBA offset | BIR.
// Table entries are 16 bytes: address low, address high, data, vector control (bit 0 = masked,
// set at reset). The table takes 32- and 64-bit accesses; the PBA is read-only.
//
// A vector is masked while its mask bit, the function mask, or MSI-X Enable being off says so.
// msix_notify() on a masked vector sets its pending bit; the message is sent when the vector is
// unmasked (through the table or the capability) and the bit cleared. Enabling MSI-X turns INTx
// off (the function must not assert it). The message goes out as a bus-master write.
#pragma once

#include <cstdint>
#include <functional>

#include "hw/pci/msi.h"
#include "qapi/error.h"

namespace machina {

class MemoryRegion;
class PciDevice;

// Adds the capability at `cap_pos` (0: anywhere) with `nentries` vectors (1-2048). The table
// and the PBA are mapped as subregions of `table_bar` at `table_offset` and of `pba_bar` at
// `pba_offset` (containers the caller registered as BARs `table_bar_nr` / `pba_bar_nr`).
Result<uint8_t> msix_init(PciDevice& dev, unsigned nentries, MemoryRegion* table_bar,
                          uint8_t table_bar_nr, uint32_t table_offset, MemoryRegion* pba_bar,
                          uint8_t pba_bar_nr, uint32_t pba_offset, uint8_t cap_pos);
// The size a BAR must have to hold a table of `nentries` followed by the PBA (as QEMU's
// msix_init_exclusive_bar: table at 0, PBA at half the BAR when the BAR is 4 KiB or more).
uint64_t msix_exclusive_bar_size(unsigned nentries);
uint32_t msix_exclusive_bar_pba_offset(unsigned nentries);
void msix_uninit(PciDevice& dev);

bool msix_present(const PciDevice& dev);
bool msix_enabled(const PciDevice& dev);
unsigned msix_nr_vectors(const PciDevice& dev);
bool msix_is_masked(const PciDevice& dev, unsigned vector);
bool msix_is_pending(const PciDevice& dev, unsigned vector);
MsiMessage msix_get_message(const PciDevice& dev, unsigned vector);
// Signals `vector`: sent now, or pending while masked. Ignored while MSI-X is disabled; a vector
// beyond the table is a guest error (logged, dropped).
void msix_notify(PciDevice& dev, unsigned vector);
// Called when MSI-X Enable changes (virtio-pci moves its interrupts between INTx and MSI-X).
void msix_set_enable_notifier(PciDevice& dev, std::function<void(bool enabled)> fn);

// Internal to pci-device: reset (every entry masked and zeroed, no pending bits, capability
// disabled) and the effects of a config write (INTx off, pending vectors sent when unmasked).
void msix_reset(PciDevice& dev);
void msix_write_config(PciDevice& dev, uint32_t addr, uint32_t val, unsigned len);

}  // namespace machina
