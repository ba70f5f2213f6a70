// Constants of the virtio 1.x specification: device status bits, feature bits, split ring
// layout, device IDs, the virtio PCI transport's capabilities and common configuration, and the
// legacy (virtio 0.9.5) PCI interface of transitional devices.
#pragma once

#include <cstdint>

namespace machina::virtio {

// 2.1 Device status field
inline constexpr uint8_t kStatusAcknowledge = 1;
inline constexpr uint8_t kStatusDriver = 2;
inline constexpr uint8_t kStatusDriverOk = 4;
inline constexpr uint8_t kStatusFeaturesOk = 8;
inline constexpr uint8_t kStatusNeedsReset = 0x40;
inline constexpr uint8_t kStatusFailed = 0x80;

// 6 Reserved feature bits
inline constexpr unsigned kFRingIndirectDesc = 28;
inline constexpr unsigned kFRingEventIdx = 29;
inline constexpr unsigned kFVersion1 = 32;
inline constexpr unsigned kFAccessPlatform = 33;

constexpr uint64_t bit(unsigned n) {
  return uint64_t{1} << n;
}

// 2.7 Split virtqueues
inline constexpr uint16_t kDescFNext = 1;
inline constexpr uint16_t kDescFWrite = 2;
inline constexpr uint16_t kDescFIndirect = 4;
inline constexpr uint16_t kAvailFNoInterrupt = 1;
inline constexpr uint16_t kUsedFNoNotify = 1;
inline constexpr unsigned kDescSize = 16;     // addr u64, len u32, flags u16, next u16
inline constexpr unsigned kUsedElemSize = 8;  // id u32, len u32
inline constexpr unsigned kQueueMaxSize = 1024;

// 5 Device IDs
inline constexpr uint16_t kIdNet = 1;
inline constexpr uint16_t kIdBlock = 2;
inline constexpr uint16_t kIdConsole = 3;
inline constexpr uint16_t kIdRng = 4;

// 4.1 Virtio over PCI
inline constexpr uint16_t kPciVendorId = 0x1af4;
inline constexpr uint16_t kPciDeviceIdModernBase = 0x1040;  // + device ID
// 4.1.2.3 Transitional PCI device IDs (0x1000-0x103f; the subsystem ID is the device ID); 0 for
// a device type that has no legacy interface.
constexpr uint16_t pci_transitional_device_id(uint16_t device_id) {
  switch (device_id) {
    case 1:  // network card
      return 0x1000;
    case 2:  // block device
      return 0x1001;
    case 5:  // memory ballooning
      return 0x1002;
    case 3:  // console
      return 0x1003;
    case 8:  // SCSI host
      return 0x1004;
    case 4:  // entropy source
      return 0x1005;
    case 9:  // 9P transport
      return 0x1009;
    default:
      return 0;
  }
}
inline constexpr uint16_t kNoVector = 0xffff;
// 4.1.4 capability cfg_type
inline constexpr uint8_t kPciCapCommonCfg = 1;
inline constexpr uint8_t kPciCapNotifyCfg = 2;
inline constexpr uint8_t kPciCapIsrCfg = 3;
inline constexpr uint8_t kPciCapDeviceCfg = 4;
inline constexpr uint8_t kPciCapPciCfg = 5;
// struct virtio_pci_cap: cap_vndr, cap_next, cap_len, cfg_type, bar, id, padding[2], offset,
// length (+ notify_off_multiplier for the notify capability).
inline constexpr unsigned kPciCapCfgType = 3;
inline constexpr unsigned kPciCapBar = 4;
inline constexpr unsigned kPciCapOffset = 8;
inline constexpr unsigned kPciCapLength = 12;
inline constexpr unsigned kPciCapSize = 16;
inline constexpr unsigned kPciNotifyCapSize = 20;
inline constexpr unsigned kPciCfgCapSize = 20;  // + pci_cfg_data u8[4]
// 4.1.4.3 common configuration structure
inline constexpr unsigned kCommonDfselect = 0x00;
inline constexpr unsigned kCommonDf = 0x04;
inline constexpr unsigned kCommonGfselect = 0x08;
inline constexpr unsigned kCommonGf = 0x0c;
inline constexpr unsigned kCommonMsix = 0x10;
inline constexpr unsigned kCommonNumq = 0x12;
inline constexpr unsigned kCommonStatus = 0x14;
inline constexpr unsigned kCommonCfgGeneration = 0x15;
inline constexpr unsigned kCommonQSelect = 0x16;
inline constexpr unsigned kCommonQSize = 0x18;
inline constexpr unsigned kCommonQMsix = 0x1a;
inline constexpr unsigned kCommonQEnable = 0x1c;
inline constexpr unsigned kCommonQNoff = 0x1e;
inline constexpr unsigned kCommonQDescLo = 0x20;
inline constexpr unsigned kCommonQDescHi = 0x24;
inline constexpr unsigned kCommonQAvailLo = 0x28;
inline constexpr unsigned kCommonQAvailHi = 0x2c;
inline constexpr unsigned kCommonQUsedLo = 0x30;
inline constexpr unsigned kCommonQUsedHi = 0x34;
inline constexpr unsigned kCommonSize = 0x38;
// 4.1.4.8 Legacy interface: the registers at the start of the I/O BAR (guest-native endian,
// little endian on x86), then the device configuration.
inline constexpr unsigned kLegacyHostFeatures = 0x00;   // u32, read-only: feature bits 0-31
inline constexpr unsigned kLegacyGuestFeatures = 0x04;  // u32
inline constexpr unsigned kLegacyQueuePfn = 0x08;       // u32: ring address >> 12
inline constexpr unsigned kLegacyQueueNum = 0x0c;       // u16, read-only: the queue's size
inline constexpr unsigned kLegacyQueueSel = 0x0e;       // u16
inline constexpr unsigned kLegacyQueueNotify = 0x10;    // u16
inline constexpr unsigned kLegacyStatus = 0x12;         // u8
inline constexpr unsigned kLegacyIsr = 0x13;            // u8, read clears
inline constexpr unsigned kLegacyMsixConfig = 0x14;     // u16, only while MSI-X is enabled
inline constexpr unsigned kLegacyMsixQueue = 0x16;      // u16, only while MSI-X is enabled
inline constexpr unsigned kLegacyConfig = 0x14;         // device configuration, MSI-X disabled
inline constexpr unsigned kLegacyConfigMsix = 0x18;     // device configuration, MSI-X enabled
inline constexpr unsigned kLegacyQueueAddrShift = 12;
// 2.7.2 Legacy interfaces: the used ring starts at the next 4096-byte boundary.
inline constexpr uint64_t kLegacyVringAlign = 4096;

// ISR bits
inline constexpr uint8_t kIsrQueue = 1;
inline constexpr uint8_t kIsrConfig = 2;

}  // namespace machina::virtio
