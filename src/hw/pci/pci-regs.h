// PCI and PCI Express configuration-space register offsets and bits (PCI Local Bus 3.0, PCI
// Express Base 4.0), named as Linux's and QEMU's pci_regs.h name them.
#pragma once

#include <cstdint>

namespace machina::pci {

inline constexpr unsigned kConfigSpaceSize = 0x100;          // conventional PCI
inline constexpr unsigned kExpressConfigSpaceSize = 0x1000;  // PCI Express
inline constexpr unsigned kConfigHeaderSize = 0x40;
inline constexpr int kNumPins = 4;     // INTA-D
inline constexpr int kNumRegions = 7;  // BAR0-5 and the expansion ROM
inline constexpr int kRomSlot = 6;
inline constexpr int kSlotMax = 32;
inline constexpr int kFuncMax = 8;
inline constexpr int kDevfnMax = 256;

// --- type 0 header
inline constexpr unsigned kVendorId = 0x00;
inline constexpr unsigned kDeviceId = 0x02;
inline constexpr unsigned kCommand = 0x04;
inline constexpr unsigned kStatus = 0x06;
inline constexpr unsigned kRevisionId = 0x08;
inline constexpr unsigned kClassProg = 0x09;
inline constexpr unsigned kClassDevice = 0x0a;
inline constexpr unsigned kCacheLineSize = 0x0c;
inline constexpr unsigned kLatencyTimer = 0x0d;
inline constexpr unsigned kHeaderType = 0x0e;
inline constexpr unsigned kBist = 0x0f;
inline constexpr unsigned kBaseAddress0 = 0x10;
inline constexpr unsigned kSubsystemVendorId = 0x2c;
inline constexpr unsigned kSubsystemId = 0x2e;
inline constexpr unsigned kRomAddress = 0x30;
inline constexpr unsigned kCapabilityList = 0x34;
inline constexpr unsigned kInterruptLine = 0x3c;
inline constexpr unsigned kInterruptPin = 0x3d;
// type 1 (bridge) header
inline constexpr unsigned kPrimaryBus = 0x18;
inline constexpr unsigned kSecondaryBus = 0x19;
inline constexpr unsigned kSubordinateBus = 0x1a;
inline constexpr unsigned kRomAddress1 = 0x38;
inline constexpr unsigned kBridgeControl = 0x3e;
inline constexpr uint16_t kBridgeCtlBusReset = 0x40;

inline constexpr uint8_t kHeaderTypeNormal = 0;
inline constexpr uint8_t kHeaderTypeBridge = 1;
inline constexpr uint8_t kHeaderTypeMultiFunction = 0x80;

// COMMAND
inline constexpr uint16_t kCommandIo = 0x1;
inline constexpr uint16_t kCommandMemory = 0x2;
inline constexpr uint16_t kCommandMaster = 0x4;
inline constexpr uint16_t kCommandSpecial = 0x8;
inline constexpr uint16_t kCommandInvalidate = 0x10;
inline constexpr uint16_t kCommandVgaPalette = 0x20;
inline constexpr uint16_t kCommandParity = 0x40;
inline constexpr uint16_t kCommandWait = 0x80;
inline constexpr uint16_t kCommandSerr = 0x100;
inline constexpr uint16_t kCommandFastBack = 0x200;
inline constexpr uint16_t kCommandIntxDisable = 0x400;

// STATUS
inline constexpr uint16_t kStatusInterrupt = 0x08;
inline constexpr uint16_t kStatusCapList = 0x10;
inline constexpr uint16_t kStatus66Mhz = 0x20;
inline constexpr uint16_t kStatusFastBack = 0x80;
inline constexpr uint16_t kStatusParity = 0x100;  // master data parity error
inline constexpr uint16_t kStatusDevselMask = 0x600;
inline constexpr uint16_t kStatusSigTargetAbort = 0x800;
inline constexpr uint16_t kStatusRecTargetAbort = 0x1000;
inline constexpr uint16_t kStatusRecMasterAbort = 0x2000;
inline constexpr uint16_t kStatusSigSystemError = 0x4000;
inline constexpr uint16_t kStatusDetectedParity = 0x8000;

// BARs
inline constexpr uint8_t kBaseAddressSpaceIo = 0x01;
inline constexpr uint8_t kBaseAddressSpaceMemory = 0x00;
inline constexpr uint8_t kBaseAddressMemType32 = 0x00;
inline constexpr uint8_t kBaseAddressMemType64 = 0x04;
inline constexpr uint8_t kBaseAddressMemPrefetch = 0x08;
inline constexpr uint32_t kRomAddressEnable = 0x01;

// --- capabilities
inline constexpr unsigned kCapListId = 0;
inline constexpr unsigned kCapListNext = 1;
inline constexpr uint8_t kCapIdPm = 0x01;
inline constexpr uint8_t kCapIdMsi = 0x05;
inline constexpr uint8_t kCapIdVendor = 0x09;
inline constexpr uint8_t kCapIdSsvid = 0x0d;  // bridge subsystem vendor/device ID
inline constexpr uint8_t kCapIdExp = 0x10;
inline constexpr uint8_t kCapIdMsix = 0x11;

// MSI
inline constexpr unsigned kMsiFlags = 2;  // Message Control
inline constexpr uint16_t kMsiFlagsEnable = 0x0001;
inline constexpr uint16_t kMsiFlagsQmask = 0x000e;  // Multiple Message Capable
inline constexpr uint16_t kMsiFlagsQsize = 0x0070;  // Multiple Message Enable
inline constexpr uint16_t kMsiFlags64Bit = 0x0080;
inline constexpr uint16_t kMsiFlagsMaskBit = 0x0100;  // per-vector masking
inline constexpr unsigned kMsiAddressLo = 4;
inline constexpr unsigned kMsiAddressHi = 8;  // 64-bit only
inline constexpr uint32_t kMsiAddressLoMask = 0xfffffffc;
inline constexpr int kMsiVectorsMax = 32;

// MSI-X
inline constexpr unsigned kMsixFlags = 2;  // Message Control
inline constexpr uint16_t kMsixFlagsQsize = 0x07ff;
inline constexpr uint16_t kMsixFlagsMaskAll = 0x4000;
inline constexpr uint16_t kMsixFlagsEnable = 0x8000;
inline constexpr unsigned kMsixTable = 4;  // offset | BIR
inline constexpr unsigned kMsixPba = 8;    // offset | BIR
inline constexpr uint32_t kMsixBirMask = 0x7;
inline constexpr unsigned kMsixCapLength = 12;
inline constexpr unsigned kMsixEntrySize = 16;
inline constexpr unsigned kMsixEntryLowerAddr = 0;
inline constexpr unsigned kMsixEntryUpperAddr = 4;
inline constexpr unsigned kMsixEntryData = 8;
inline constexpr unsigned kMsixEntryVectorCtrl = 12;
inline constexpr uint32_t kMsixEntryCtrlMaskBit = 0x1;
inline constexpr unsigned kMsixVectorsMax = 2048;

// PCI Express capability (offsets inside it)
inline constexpr unsigned kExpFlags = 0x02;
inline constexpr unsigned kExpDevCap = 0x04;
inline constexpr unsigned kExpDevCtl = 0x08;
inline constexpr unsigned kExpDevSta = 0x0a;
inline constexpr unsigned kExpLnkCap = 0x0c;
inline constexpr unsigned kExpLnkCtl = 0x10;
inline constexpr unsigned kExpLnkSta = 0x12;
inline constexpr unsigned kExpSltCap = 0x14;
inline constexpr unsigned kExpSltCtl = 0x18;
inline constexpr unsigned kExpSltSta = 0x1a;
inline constexpr unsigned kExpRtCtl = 0x1c;
inline constexpr unsigned kExpRtCap = 0x1e;
inline constexpr unsigned kExpRtSta = 0x20;
inline constexpr unsigned kExpDevCap2 = 0x24;
inline constexpr unsigned kExpDevCtl2 = 0x28;
inline constexpr unsigned kExpLnkCap2 = 0x2c;
inline constexpr unsigned kExpLnkCtl2 = 0x30;
inline constexpr unsigned kExpLnkSta2 = 0x32;
inline constexpr unsigned kExpVer2Sizeof = 0x3c;
inline constexpr uint16_t kExpFlagsVer2 = 0x0002;
inline constexpr uint16_t kExpFlagsSlot = 0x0100;  // slot implemented
inline constexpr uint32_t kExpDevCapRber = 0x8000;
inline constexpr uint16_t kExpDevCtlCere = 0x0001;
inline constexpr uint16_t kExpDevCtlNfere = 0x0002;
inline constexpr uint16_t kExpDevCtlFere = 0x0004;
inline constexpr uint16_t kExpDevCtlUrre = 0x0008;
inline constexpr uint16_t kExpDevStaCed = 0x0001;
inline constexpr uint16_t kExpDevStaNfed = 0x0002;
inline constexpr uint16_t kExpDevStaFed = 0x0004;
inline constexpr uint16_t kExpDevStaUrd = 0x0008;
inline constexpr uint32_t kExpLnkCapSpeed2_5 = 0x1;
inline constexpr uint32_t kExpLnkCapWidthX1 = 0x1 << 4;
inline constexpr uint32_t kExpLnkCapAspmL0s = 0x1 << 10;
inline constexpr uint32_t kExpLnkCapDllLarc = 0x1 << 20;  // DLL link active reporting capable
inline constexpr unsigned kExpLnkCapPortShift = 24;
inline constexpr uint16_t kExpLnkCtlAspmc = 0x0003;
inline constexpr uint16_t kExpLnkCtlEs = 0x0080;  // extended synch
inline constexpr uint16_t kExpLnkStaSpeed2_5 = 0x1;
inline constexpr uint16_t kExpLnkStaWidthX1 = 0x1 << 4;
inline constexpr uint16_t kExpLnkStaDllla = 0x2000;  // data link layer link active
// Slot capabilities / control / status (hot-plug).
inline constexpr uint32_t kExpSltCapAbp = 0x1;       // attention button present
inline constexpr uint32_t kExpSltCapPcp = 0x2;       // power controller present
inline constexpr uint32_t kExpSltCapMrlsp = 0x4;     // MRL sensor present
inline constexpr uint32_t kExpSltCapAip = 0x8;       // attention indicator present
inline constexpr uint32_t kExpSltCapPip = 0x10;      // power indicator present
inline constexpr uint32_t kExpSltCapHps = 0x20;      // hot-plug surprise
inline constexpr uint32_t kExpSltCapHpc = 0x40;      // hot-plug capable
inline constexpr uint32_t kExpSltCapEip = 0x20000;   // electromechanical interlock present
inline constexpr uint32_t kExpSltCapNccs = 0x40000;  // no command completed support
inline constexpr unsigned kExpSltCapPsnShift = 19;   // physical slot number
inline constexpr uint16_t kExpSltCtlAbpe = 0x1;      // attention button pressed enable
inline constexpr uint16_t kExpSltCtlPfde = 0x2;      // power fault detected enable
inline constexpr uint16_t kExpSltCtlMrlsce = 0x4;    // MRL sensor changed enable
inline constexpr uint16_t kExpSltCtlPdce = 0x8;      // presence detect changed enable
inline constexpr uint16_t kExpSltCtlCcie = 0x10;     // command completed interrupt enable
inline constexpr uint16_t kExpSltCtlHpie = 0x20;     // hot-plug interrupt enable
inline constexpr uint16_t kExpSltCtlAic = 0xc0;      // attention indicator control
inline constexpr uint16_t kExpSltCtlAttnIndOn = 0x40;
inline constexpr uint16_t kExpSltCtlAttnIndBlink = 0x80;
inline constexpr uint16_t kExpSltCtlAttnIndOff = 0xc0;
inline constexpr uint16_t kExpSltCtlPic = 0x300;  // power indicator control
inline constexpr uint16_t kExpSltCtlPwrIndOn = 0x100;
inline constexpr uint16_t kExpSltCtlPwrIndBlink = 0x200;
inline constexpr uint16_t kExpSltCtlPwrIndOff = 0x300;
inline constexpr uint16_t kExpSltCtlPcc = 0x400;      // power controller control: 1 = off
inline constexpr uint16_t kExpSltCtlEic = 0x800;      // electromechanical interlock control
inline constexpr uint16_t kExpSltCtlDllsce = 0x1000;  // data link layer state changed enable
inline constexpr uint16_t kExpSltStaAbp = 0x1;        // attention button pressed
inline constexpr uint16_t kExpSltStaPfd = 0x2;        // power fault detected
inline constexpr uint16_t kExpSltStaMrlsc = 0x4;      // MRL sensor changed
inline constexpr uint16_t kExpSltStaPdc = 0x8;        // presence detect changed
inline constexpr uint16_t kExpSltStaCc = 0x10;        // command completed
inline constexpr uint16_t kExpSltStaMrlss = 0x20;     // MRL sensor state
inline constexpr uint16_t kExpSltStaPds = 0x40;       // presence detect state
inline constexpr uint16_t kExpSltStaEis = 0x80;       // electromechanical interlock status
inline constexpr uint16_t kExpSltStaDllsc = 0x100;    // data link layer state changed
// Root control / capabilities.
inline constexpr uint16_t kExpRtCtlSecee = 0x1;
inline constexpr uint16_t kExpRtCtlSenfee = 0x2;
inline constexpr uint16_t kExpRtCtlSefee = 0x4;
inline constexpr uint16_t kExpRtCtlPmeie = 0x8;
inline constexpr uint32_t kExpRtStaPme = 0x10000;
inline constexpr uint32_t kExpRtStaPmePending = 0x20000;
inline constexpr uint32_t kExpDevCap2Eff = 0x100000;     // extended fmt field supported
inline constexpr uint32_t kExpDevCap2Eetlpp = 0x200000;  // end-end TLP prefix supported
inline constexpr uint16_t kExpDevCtl2Eetlppb = 0x8000;

// Device/port types (PCI Express Capabilities register bits 7:4).
enum class PcieType : uint8_t {
  Endpoint = 0x0,
  LegacyEndpoint = 0x1,
  RootPort = 0x4,
  Upstream = 0x5,
  Downstream = 0x6,
  PciBridge = 0x7,  // PCIe to PCI/PCI-X bridge
  PciePciBridge = 0x8,
  RcEndpoint = 0x9,  // root complex integrated endpoint
  RcEventCollector = 0xa,
};

// Extended capabilities (from 0x100): header = id | version << 16 | next << 20.
inline constexpr unsigned kExtCapStart = 0x100;

}  // namespace machina::pci
