// A small AML (ACPI Machine Language) builder and the framing of ACPI tables (ACPI 6.x, chapters
// 5.2 "tables" and 20 "AML specification").
//
// AML is built as a tree of `Aml` terms: leaves (integers, names, strings, operators whose operands
// are given at construction) and blocks that get children with add() — Scope, Device, Method, If,
// Else, While, Package, Buffer, ResourceTemplate and Field. encode() produces the bytes, computing
// every PkgLength, package element count and buffer size from the children. Names follow the
// ASL spelling: "\\_SB.PCI0", "^FOO", "_HID" (segments shorter than 4 characters are padded with
// '_'). Malformed names or out-of-range arguments are programming errors and abort.
//
// The table framing writes the standard 36-byte header with machina's OEM fields and fixes the
// length and checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace machina {

using AmlBytes = std::vector<uint8_t>;

// --- little-endian byte helpers
void append_le(AmlBytes& out, uint64_t value, int bytes);
void put_le(AmlBytes& out, size_t offset, uint64_t value, int bytes);
uint64_t get_le(const uint8_t* p, int bytes);

namespace aml {

// PkgLength of a block whose content after the PkgLength is `body_len` bytes (the encoding
// counts its own 1-4 bytes). Aborts past 2^28 bytes.
AmlBytes pkg_length(size_t body_len);
// PkgLength that encodes `value` as is (FieldElement bit widths).
AmlBytes pkg_length_value(size_t value);
// NameString for an ASL path ("\\_SB.PCI0.S08", "^^LNKA", "PICF", "" = NullName).
AmlBytes name_string(std::string_view path);

class Aml {
 public:
  Aml() = default;  // encodes to nothing

  // Appends a term to a block (or a descriptor to a resource template). Returns *this.
  Aml& add(Aml child);
  AmlBytes encode() const;
  void encode_to(AmlBytes& out) const;
  size_t child_count() const { return children_.size(); }

  // Internal constructors (use the functions below).
  enum class Kind : uint8_t { Raw, Block, Package, Buffer, ResourceTemplate };
  static Aml raw(AmlBytes bytes);
  static Aml block(AmlBytes opcode, AmlBytes fixed, Kind kind = Kind::Block);

 private:
  Kind kind_ = Kind::Raw;
  AmlBytes head_;   // Raw: the whole encoding; blocks: the opcode before the PkgLength
  AmlBytes fixed_;  // blocks: what follows the PkgLength before the children (name, flags)
  std::vector<Aml> children_;
};

// --- data objects
Aml integer(uint64_t v);  // Zero, One, or the smallest of Byte/Word/DWord/QWord
Aml zero();
Aml one();
Aml ones();
Aml string(std::string_view s);
Aml buffer(const AmlBytes& data);  // Buffer (n) { data }
Aml package();                     // Package () { children }
Aml eisa_id(std::string_view id);  // "PNP0A03" -> its compressed DWord
// ToUUID("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"): a 16-byte buffer in ACPI's byte order.
Aml uuid(std::string_view text);

// --- references
Aml name(std::string_view path);  // a NameString as a term (a named object or a call, no args)
Aml local(int n);                 // Local0-7
Aml arg(int n);                   // Arg0-6
Aml debug();
Aml call(std::string_view method, std::vector<Aml> args = {});

// --- namespace modifiers and named objects
Aml scope(std::string_view path);
Aml device(std::string_view path);
Aml method(std::string_view path, int nargs, bool serialized = false, int sync_level = 0);
Aml name_decl(std::string_view path, Aml value);  // Name (N, value)

enum class RegionSpace : uint8_t {
  SystemMemory = 0,
  SystemIO = 1,
  PciConfig = 2,
};
Aml operation_region(std::string_view path, RegionSpace space, Aml offset, Aml length);

enum class FieldAccess : uint8_t { Any = 0, Byte = 1, Word = 2, DWord = 3, QWord = 4 };
enum class FieldLock : uint8_t { NoLock = 0, Lock = 1 };
enum class FieldUpdate : uint8_t { Preserve = 0, WriteAsOnes = 1, WriteAsZeros = 2 };
// Field (region, access, lock, update) { elements added with add() }.
Aml field(std::string_view region, FieldAccess access, FieldLock lock, FieldUpdate update);
Aml named_field(std::string_view seg, size_t bits);
Aml reserved_field(size_t bits);

Aml create_dword_field(Aml source_buffer, Aml byte_index, std::string_view name);
Aml create_qword_field(Aml source_buffer, Aml byte_index, std::string_view name);

// --- statements
Aml return_(Aml value);
Aml if_(Aml predicate);  // add() the body
Aml else_();             // add() the body; place right after its If
Aml while_(Aml predicate);
Aml store(Aml source, Aml target);
Aml notify(Aml object, Aml value);
// Mutex (N, SyncLevel); Acquire (mutex, timeout in ms, 0xFFFF: forever); Release (mutex).
Aml mutex(std::string_view path, int sync_level = 0);
Aml acquire(Aml mutex_object, uint16_t timeout);
Aml release(Aml mutex_object);

// --- expressions (an empty `target` is NullName: the result is only returned)
Aml lequal(Aml a, Aml b);
Aml lnot(Aml a);
Aml lnot_equal(Aml a, Aml b);  // LNot (LEqual (a, b))
Aml land(Aml a, Aml b);
Aml lor(Aml a, Aml b);
Aml lgreater(Aml a, Aml b);
Aml lless(Aml a, Aml b);
Aml and_(Aml a, Aml b, Aml target = Aml());
Aml or_(Aml a, Aml b, Aml target = Aml());
Aml add(Aml a, Aml b, Aml target = Aml());
Aml subtract(Aml a, Aml b, Aml target = Aml());
Aml shift_left(Aml a, Aml count, Aml target = Aml());
Aml shift_right(Aml a, Aml count, Aml target = Aml());
Aml increment(Aml target);
Aml decrement(Aml target);
Aml index(Aml source, Aml idx, Aml target = Aml());
Aml deref_of(Aml ref);
Aml size_of(Aml obj);

// --- resource descriptors (ACPI 6.4.2 small and 6.4.3 large items), for resource_template()
Aml resource_template();  // Buffer with the descriptors added and an End Tag

enum class IoDecode : uint8_t { Decode10 = 0, Decode16 = 1 };
Aml res_io(IoDecode decode, uint16_t min, uint16_t max, uint8_t align, uint8_t length);
Aml res_irq_noflags(uint16_t irq_mask);  // IRQNoFlags () { irqs }: bit n = IRQ n

enum class ResUsage : uint8_t { Producer = 0, Consumer = 1 };
enum class Trigger : uint8_t { Level = 0, Edge = 1 };
enum class Polarity : uint8_t { ActiveHigh = 0, ActiveLow = 1 };
enum class Sharing : uint8_t { Exclusive = 0, Shared = 1 };
// Interrupt (usage, trigger, polarity, sharing) { irqs } (Extended Interrupt Descriptor).
Aml res_interrupt(ResUsage usage, Trigger trigger, Polarity polarity, Sharing sharing,
                  const std::vector<uint32_t>& irqs);

// Address space descriptors: (usage, MinFixed, MaxFixed, PosDecode) with granularity 0 and the
// range [min, max] of `length` = max - min + 1 bytes; `translation` offset as given.
Aml res_word_bus_number(ResUsage usage, uint16_t min, uint16_t max, uint16_t translation = 0);
Aml res_word_io(ResUsage usage, uint16_t min, uint16_t max, uint16_t translation = 0);
Aml res_dword_io(ResUsage usage, uint32_t min, uint32_t max, uint32_t translation = 0);
enum class MemCache : uint8_t {
  NonCacheable = 0,
  Cacheable = 1,
  WriteCombining = 2,
  Prefetchable = 3
};
Aml res_dword_memory(ResUsage usage, MemCache cache, bool read_write, uint32_t min, uint32_t max,
                     uint32_t translation = 0);
Aml res_qword_memory(ResUsage usage, MemCache cache, bool read_write, uint64_t min, uint64_t max,
                     uint64_t translation = 0);
Aml res_memory32_fixed(bool read_write, uint32_t base, uint32_t length);

}  // namespace aml

// --- ACPI table framing (ACPI 5.2.6: the System Description Table Header)
inline constexpr char kAcpiOemId[] = "MACHNA";         // 6 characters
inline constexpr char kAcpiOemTableId[] = "MACHINA ";  // 8 characters
inline constexpr uint32_t kAcpiOemRevision = 1;
inline constexpr char kAcpiCreatorId[] = "MCHN";  // 4 characters
inline constexpr uint32_t kAcpiCreatorRevision = 1;
inline constexpr size_t kAcpiTableHeaderSize = 36;

// Bytes summing to zero modulo 256 make a valid checksum: returns the byte to store.
uint8_t acpi_checksum(const uint8_t* data, size_t len);
// A table: header (signature, length, revision, checksum, OEM fields) followed by `body`.
AmlBytes acpi_table(std::string_view signature, uint8_t revision, const AmlBytes& body);
// Recomputes the checksum at byte 9 of a table (after it was patched).
void acpi_table_fix_checksum(AmlBytes& table);

// Generic Address Structure (ACPI 5.2.3.2), 12 bytes.
enum class GasSpace : uint8_t { SystemMemory = 0, SystemIO = 1, PciConfig = 2 };
enum class GasAccess : uint8_t { Undefined = 0, Byte = 1, Word = 2, DWord = 3, QWord = 4 };
void append_gas(AmlBytes& out, GasSpace space, uint8_t bit_width, uint8_t bit_offset,
                GasAccess access, uint64_t address);

}  // namespace machina
