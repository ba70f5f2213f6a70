// The MSI capability (PCI Local Bus 3.0, 6.8.1), as QEMU's hw/pci/msi.c: 32- or 64-bit message
// address, 1-32 vectors, optional per-vector masking with pending bits.
//
// Layout from the capability offset: +2 Message Control; +4 address (low); 64-bit: +8 address
// high, +0xC data, +0x10 mask, +0x14 pending; 32-bit: +8 data, +0xC mask, +0x10 pending.
// Writable: Message Control's enable and Multiple Message Enable, the address (bits 1:0 read as
// zero), the data, and the mask bits of the capable vectors. A device signals vector v with
// msi_notify(): masked vectors set their pending bit and are sent when unmasked; the message goes
// out as a bus-master write (PciDevice::send_msi_message).
#pragma once

#include <cstdint>

#include "qapi/error.h"

namespace machina {

class PciDevice;

struct MsiMessage {
  uint64_t address = 0;
  uint32_t data = 0;
};

// Adds the capability at `offset` (0: anywhere). `nr_vectors`: 1, 2, 4, 8, 16 or 32.
Result<uint8_t> msi_init(PciDevice& dev, uint8_t offset, unsigned nr_vectors, bool msi64bit,
                         bool per_vector_mask);
void msi_uninit(PciDevice& dev);
bool msi_present(const PciDevice& dev);
bool msi_enabled(const PciDevice& dev);
// Vectors the guest enabled (Multiple Message Enable), 1-32.
unsigned msi_nr_vectors_allocated(const PciDevice& dev);
MsiMessage msi_get_message(const PciDevice& dev, unsigned vector);
bool msi_is_masked(const PciDevice& dev, unsigned vector);
// Signals `vector`: sent now, or left pending while masked. Nothing happens while MSI is off; a
// vector beyond those the guest enabled is a guest error and is dropped.
void msi_notify(PciDevice& dev, unsigned vector);

// Internal to pci-device: reset (enable, address, data, mask, pending cleared) and the effects
// of a config write (INTx off once enabled, pending vectors sent when unmasked).
void msi_reset(PciDevice& dev);
void msi_write_config(PciDevice& dev, uint32_t addr, uint32_t val, unsigned len);

}  // namespace machina
