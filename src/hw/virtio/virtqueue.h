// A split virtqueue (virtio 1.x, 2.7): the descriptor table, the driver (available) ring and the
// device (used) ring in guest RAM, with indirect descriptors and event-index suppression.
//
// Everything the guest supplies is checked before it is used: the rings must lie in guest RAM
// (checked when the driver enables the queue), every buffer too; indices, chain lengths and
// indirect tables are bounded; a chain that revisits a descriptor, a device-readable descriptor
// after a device-writable one, a zero-length buffer or a nested indirect table is refused. A
// violation is reported through the owner's error callback (the device goes to NEEDS_RESET) and
// pop() returns nothing from then on until the queue is reset.
//
// Buffers come back as host iovecs pointing into guest RAM: the RAM regions of a machine live as
// long as the machine, so the pointers stay valid while a request is in flight.
//
// Threading: one thread at a time (the device's handler: main loop with the BQL held). The
// driver runs concurrently on a vCPU; ring fields are read and written with the ordering the
// specification requires (acquire on avail->idx, release on used->idx, a full fence before
// deciding whether to notify).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace machina {

struct VirtQueueElement {
  uint16_t index = 0;         // head descriptor: what goes back in the used ring
  std::vector<iovec> out_sg;  // device-readable buffers, in order
  std::vector<iovec> in_sg;   // device-writable buffers, in order
  size_t out_bytes() const;
  size_t in_bytes() const;
};

// Copies between a scatter list and a flat buffer; returns the bytes copied.
size_t iov_to_buf(const std::vector<iovec>& iov, size_t offset, void* buf, size_t len);
size_t iov_from_buf(const std::vector<iovec>& iov, size_t offset, const void* buf, size_t len);
// The part of `iov` from `offset` on, at most `len` bytes.
std::vector<iovec> iov_slice(const std::vector<iovec>& iov, size_t offset, size_t len);

class VirtQueue {
 public:
  using ErrorFn = std::function<void(const std::string& message)>;

  VirtQueue(unsigned index, uint16_t max_size, ErrorFn on_error);

  unsigned index() const { return index_; }
  uint16_t max_size() const { return max_size_; }

  // --- driver-visible configuration (the transport's queue registers)
  uint16_t size() const { return num_; }
  void set_size(uint16_t num) { num_ = num; }  // the transport checks it (power of 2, <= max)
  uint64_t desc_addr() const { return desc_; }
  uint64_t avail_addr() const { return avail_; }
  uint64_t used_addr() const { return used_; }
  void set_addresses(uint64_t desc, uint64_t avail, uint64_t used);
  // The legacy interface's layout (2.7.2, "Legacy Interfaces: A Note on Virtqueue Layout"): the
  // descriptor table at `desc`, the available ring right after it, the used ring at the next
  // `align`-byte boundary; for the queue's current size.
  void set_legacy_addresses(uint64_t desc, uint64_t align);
  uint16_t vector() const { return vector_; }
  void set_vector(uint16_t v) { vector_ = v; }
  bool enabled() const { return enabled_; }
  // The driver enables the queue: resolves the rings in guest RAM. False (and the error callback
  // called) if they are not all in RAM, misaligned, or the size is not valid.
  bool enable();
  // Negotiated features that change the ring format.
  void set_features(bool indirect, bool event_idx) {
    indirect_ = indirect;
    event_idx_ = event_idx;
  }
  // Back to the reset state (size max, addresses 0, disabled, vector none, indices 0).
  void reset();

  // --- device side
  bool ready() const { return enabled_ && !broken_ && desc_host_; }
  bool broken() const { return broken_; }
  // Stops the queue until reset (the device failed).
  void set_broken() { broken_ = true; }
  // Whether the driver has made no buffer available beyond those popped.
  bool empty();
  // The next available chain, or nothing (ring empty, queue not ready, or malformed: then the
  // error callback has been called and the queue stays broken until reset).
  std::optional<VirtQueueElement> pop();
  // Gives an element back so that the next pop returns it again (a request that must wait).
  void unpop();
  // Returns an element with `len` bytes written into its device-writable buffers (fill + flush).
  void push(const VirtQueueElement& elem, uint32_t len);
  void fill(const VirtQueueElement& elem, uint32_t len, unsigned idx);
  void flush(unsigned count);
  // Whether an interrupt is due for what was flushed since the last notification (flags or
  // event index). Updates the "signalled" index when it says yes.
  bool should_notify();
  // Asks the driver to notify (or not) when it adds buffers.
  void set_notification(bool enable);
  // Elements popped and not yet pushed.
  unsigned in_use() const { return inuse_; }
  uint16_t last_avail_idx() const { return last_avail_idx_; }
  uint16_t used_idx() const { return used_idx_; }

 private:
  struct Desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
  };
  bool fail(const std::string& message);
  uint16_t avail_idx();
  uint16_t avail_flags() const;
  uint16_t used_event() const;
  Desc read_desc(const uint8_t* table, unsigned i) const;
  bool map_buffer(const Desc& d, VirtQueueElement& elem);

  unsigned index_;
  uint16_t max_size_;
  ErrorFn on_error_;
  uint16_t num_;
  uint64_t desc_ = 0, avail_ = 0, used_ = 0;
  uint16_t vector_;
  bool enabled_ = false;
  bool broken_ = false;
  bool indirect_ = false, event_idx_ = false;
  bool notification_ = true;
  uint8_t* desc_host_ = nullptr;
  uint8_t* avail_host_ = nullptr;
  uint8_t* used_host_ = nullptr;
  uint16_t last_avail_idx_ = 0;
  uint16_t shadow_avail_idx_ = 0;
  uint16_t used_idx_ = 0;
  uint16_t signalled_used_ = 0;
  bool signalled_used_valid_ = false;
  unsigned inuse_ = 0;
};

// Guest RAM for virtio: the host address of [gpa, gpa + len) if that is all RAM (writable RAM
// for a write) in one mapping, else nullptr.
uint8_t* virtio_guest_ram(uint64_t gpa, uint64_t len, bool is_write);

}  // namespace machina
