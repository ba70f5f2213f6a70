// QEMU's firmware configuration device, I/O-port flavour ("fw_cfg_io"; docs/specs/fw_cfg.rst):
// items selected by a 16-bit key and read as a byte stream, plus named files listed in a
// directory, and a DMA interface.
//
// Ports (from "iobase", default 0x510): +0 selector (16-bit write: select a key, offset 0), +1
// data (8-bit read: the next byte of the item, 0 past its end or for an unknown key; writes are
// ignored, as QEMU since 2.4). DMA ("dma_iobase", default 0x514, if "dma_enabled"): the guest
// writes the guest-physical address of a FWCfgDmaAccess {be32 control; be32 length; be64 address}
// big-endian, as a 32-bit write of the high half at +0 then of the low half at +4 (which starts
// the transfer; the high half is cleared by every transfer). Control bits: ERROR 0x01, READ 0x02,
// SKIP 0x04, SELECT 0x08 (key in bits 31:16), WRITE 0x10. A read past the end of an item fills
// zeros; a write to an item that is not writable sets ERROR. When done, control is written back:
// 0, or ERROR. Reading the DMA register gives the signature "QEMU CFG" (big-endian).
//
// Keys: 0x00 signature "QEMU", 0x01 features (bit 0 traditional interface, bit 1 DMA), 0x19 the
// file directory {be32 count; {be32 size; be16 select; be16 reserved; char name[56]} ...} sorted
// by name, files from key 0x20 (32 slots). Keys with bit 15 set are the architecture's own
// (x86: 0x8002 IRQ0 override, 0x8003 legacy e820 table). Bit 14 (the old write channel) is
// ignored when selecting.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "hw/core/sysbus.h"
#include "hw/i386/x86-boot-params.h"
#include "system/memory.h"

namespace machina {

inline constexpr const char* kTypeFwCfgIo = "fw_cfg_io";
inline constexpr uint16_t kFwCfgIoBase = 0x510;
inline constexpr uint16_t kFwCfgDmaIoBase = 0x514;

namespace fw_cfg {
inline constexpr uint16_t kSignature = 0x00;
inline constexpr uint16_t kId = 0x01;
inline constexpr uint16_t kUuid = 0x02;
inline constexpr uint16_t kRamSize = 0x03;
inline constexpr uint16_t kNographic = 0x04;
inline constexpr uint16_t kNbCpus = 0x05;
inline constexpr uint16_t kMachineId = 0x06;
inline constexpr uint16_t kKernelAddr = 0x07;
inline constexpr uint16_t kKernelSize = 0x08;
inline constexpr uint16_t kKernelCmdline = 0x09;
inline constexpr uint16_t kInitrdAddr = 0x0a;
inline constexpr uint16_t kInitrdSize = 0x0b;
inline constexpr uint16_t kBootDevice = 0x0c;
inline constexpr uint16_t kNuma = 0x0d;
inline constexpr uint16_t kBootMenu = 0x0e;
inline constexpr uint16_t kMaxCpus = 0x0f;
inline constexpr uint16_t kKernelEntry = 0x10;
inline constexpr uint16_t kKernelData = 0x11;
inline constexpr uint16_t kInitrdData = 0x12;
inline constexpr uint16_t kCmdlineAddr = 0x13;
inline constexpr uint16_t kCmdlineSize = 0x14;
inline constexpr uint16_t kCmdlineData = 0x15;
inline constexpr uint16_t kSetupAddr = 0x16;
inline constexpr uint16_t kSetupSize = 0x17;
inline constexpr uint16_t kSetupData = 0x18;
inline constexpr uint16_t kFileDir = 0x19;
inline constexpr uint16_t kFileFirst = 0x20;
inline constexpr uint16_t kFileSlots = 0x20;
inline constexpr uint16_t kMaxEntry = kFileFirst + kFileSlots;
inline constexpr uint16_t kWriteChannel = 0x4000;
inline constexpr uint16_t kArchLocal = 0x8000;
inline constexpr uint16_t kEntryMask = 0x3fff;
// x86 architecture-local keys.
inline constexpr uint16_t kAcpiTables = kArchLocal + 0;
inline constexpr uint16_t kSmbiosEntries = kArchLocal + 1;
inline constexpr uint16_t kIrq0Override = kArchLocal + 2;
inline constexpr uint16_t kE820Table = kArchLocal + 3;

inline constexpr uint32_t kFeatureTraditional = 1u << 0;
inline constexpr uint32_t kFeatureDma = 1u << 1;

inline constexpr uint32_t kDmaCtlError = 0x01;
inline constexpr uint32_t kDmaCtlRead = 0x02;
inline constexpr uint32_t kDmaCtlSkip = 0x04;
inline constexpr uint32_t kDmaCtlSelect = 0x08;
inline constexpr uint32_t kDmaCtlWrite = 0x10;
inline constexpr uint64_t kDmaSignature = 0x51454d5520434647ull;  // "QEMU CFG"

inline constexpr size_t kFileNameSize = 56;
inline constexpr size_t kFileDirEntrySize = 64;
}  // namespace fw_cfg

class FwCfg : public SysBusDevice {
 public:
  uint16_t iobase = kFwCfgIoBase;
  uint16_t dma_iobase = kFwCfgDmaIoBase;
  bool dma_enabled = true;

  FwCfg();

  // Items by key (bit 15: architecture-local). Replaces what the key held.
  void add_bytes(uint16_t key, std::vector<uint8_t> data);
  void add_i16(uint16_t key, uint16_t value);  // little-endian, as QEMU
  void add_i32(uint16_t key, uint32_t value);
  void add_i64(uint16_t key, uint64_t value);
  void add_string(uint16_t key, const std::string& s);  // with its NUL
  // An item whose bytes `load` produces when the guest first selects it (large items such as the
  // kernel and initrd stay on disk until firmware asks for them).
  void add_lazy(uint16_t key, std::function<std::vector<uint8_t>()> load);
  // Files: a new name (at most 55 characters); errors for a duplicate or when the 32 slots are
  // used. `writable`: DMA writes may change its content (not its size).
  Status add_file(const std::string& name, std::vector<uint8_t> data, bool writable = false);
  // Replaces the content of a file, or adds it.
  Status set_file(const std::string& name, std::vector<uint8_t> data);
  // A file's content, or nullptr.
  const std::vector<uint8_t>* file(const std::string& name) const;
  // The key of a file, or 0.
  uint16_t file_key(const std::string& name) const;

  // Where DMA goes (default: the system memory address space).
  void set_dma_address_space(const AddressSpace* as) { dma_as_ = as; }

 protected:
  Status do_realize() override;
  void do_unrealize() override;
  void do_reset() override;

 private:
  struct Entry {
    std::vector<uint8_t> data;
    bool writable = false;
    std::function<std::vector<uint8_t>()> load;  // lazy items: fills `data` once
  };

  Entry* entry_for(uint16_t key);
  void select(uint16_t key);
  uint8_t read_data();
  void rebuild_directory();
  void dma_transfer();
  uint64_t dma_read_reg(uint64_t addr, unsigned size) const;
  void dma_write_reg(uint64_t addr, uint64_t value, unsigned size);

  // Keys below kFileFirst ([0]) and the architecture-local keys ([1]).
  std::array<std::array<Entry, fw_cfg::kFileFirst>, 2> entries_{};
  // Files sorted by name; file i has key kFileFirst + i.
  std::vector<std::pair<std::string, Entry>> files_;
  MemoryRegion io_, dma_io_;
  bool io_mapped_ = false, dma_mapped_ = false;
  const AddressSpace* dma_as_ = nullptr;

  uint16_t cur_key_ = 0;
  bool cur_valid_ = false;
  uint32_t cur_offset_ = 0;
  uint64_t dma_addr_ = 0;
};

// --- helpers for the machine

// The e820 map as QEMU's "etc/e820" file: {le64 address; le64 length; le32 type} per entry.
std::vector<uint8_t> fw_cfg_e820_file(const std::vector<E820Entry>& map);

// What a PC adds: RAM size, CPU counts, no-graphic and boot-menu flags, a zero UUID, the IRQ0
// override (ISA IRQ 0 is on GSI 2) and the "etc/e820" file.
Status fw_cfg_add_pc_items(FwCfg& fw, uint64_t ram_size, uint16_t nb_cpus, uint16_t max_cpus,
                           bool nographic, const std::vector<E820Entry>& e820);

// The Linux boot items of QEMU's linuxboot option ROMs: load addresses, sizes and data of the
// kernel (protected-mode part), the setup part, the initrd and the command line (with its NUL).
struct FwCfgLinuxBoot {
  uint32_t kernel_addr = 0;
  std::vector<uint8_t> kernel;
  uint32_t setup_addr = 0;
  std::vector<uint8_t> setup;
  uint32_t initrd_addr = 0;
  std::vector<uint8_t> initrd;
  uint32_t cmdline_addr = 0;
  std::string cmdline;
  // When set, the kernel and initrd data items are lazy (add_lazy): their sizes are given here
  // and `kernel` / `initrd` above stay empty.
  std::function<std::vector<uint8_t>()> load_kernel, load_initrd;
  uint32_t kernel_size = 0, initrd_size = 0;
};
void fw_cfg_add_linux_boot(FwCfg& fw, const FwCfgLinuxBoot& boot);

}  // namespace machina
