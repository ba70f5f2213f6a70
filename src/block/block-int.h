// Block nodes (QEMU's BlockDriverState): a driver instance in the block graph. The file driver
// (file-posix) talks to a host file; format drivers (raw) sit on a child node.
//
// Nodes are shared: parents and BlockBackends hold std::shared_ptr; the monitor holds the nodes
// it created (blockdev-add, -blockdev). A node is closed (its fd too) when the last holder drops
// it. All I/O is asynchronous: callbacks get 0 or -errno and run on the main loop thread.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace machina {

using json = nlohmann::json;

enum class BlockdevDiscard { Ignore, Unmap };
enum class BlockdevDetectZeroes { Off, On, Unmap };

// Options every node has (QEMU's BlockdevOptions base members).
struct BlockNodeCommon {
  std::string driver;
  std::string node_name;  // auto-generated "#blockNNN" when not given
  bool node_name_given = false;
  bool read_only = false;
  bool auto_read_only = false;
  bool force_share = false;
  bool cache_direct = false;    // O_DIRECT
  bool cache_no_flush = false;  // flushes do nothing
  BlockdevDiscard discard = BlockdevDiscard::Ignore;
  BlockdevDetectZeroes detect_zeroes = BlockdevDetectZeroes::Off;
};

class BlockDriverState {
 public:
  using Callback = std::function<void(int ret)>;

  explicit BlockDriverState(BlockNodeCommon common) : c_(std::move(common)) {}
  virtual ~BlockDriverState();
  BlockDriverState(const BlockDriverState&) = delete;
  BlockDriverState& operator=(const BlockDriverState&) = delete;

  const std::string& node_name() const { return c_.node_name; }
  const std::string& driver() const { return c_.driver; }
  const BlockNodeCommon& common() const { return c_; }
  bool read_only() const { return c_.read_only; }

  // The host file under the node (QEMU's bs->filename).
  virtual std::string filename() const = 0;
  // Size in bytes (QEMU's bdrv_getlength).
  virtual uint64_t length() const = 0;
  // Bytes the image occupies on the host (ImageInfo actual-size), or -1.
  virtual int64_t actual_size() const { return -1; }
  // The format's child (raw's "file"), or nullptr.
  virtual BlockDriverState* file_child() const { return nullptr; }

  // Requests are within [0, length()] plus the zero-filled tail a read may cover.
  virtual void preadv(uint64_t offset, std::vector<iovec> iov, Callback cb) = 0;
  virtual void pwritev(uint64_t offset, std::vector<iovec> iov, Callback cb) = 0;
  virtual void flush(Callback cb) = 0;
  virtual void discard(uint64_t offset, uint64_t bytes, Callback cb) = 0;
  virtual void write_zeroes(uint64_t offset, uint64_t bytes, bool may_unmap, Callback cb) = 0;

  // Requests that have not called back yet (this node's own; children count theirs).
  size_t in_flight() const { return in_flight_; }
  // Runs completion handling until this node has nothing in flight.
  void drain();

  // Users: parents (nodes whose child this is) and BlockBackends. Graph bookkeeping only.
  int parent_count() const { return parents_; }
  int backend_count() const { return backends_; }
  void add_parent() { ++parents_; }
  void remove_parent() { --parents_; }
  void add_backend() { ++backends_; }
  void remove_backend() { --backends_; }

  // Monitor-owned: created by blockdev-add / -blockdev (QEMU's monitor_bdrv_states).
  bool monitor_owned() const { return monitor_owned_; }
  void set_monitor_owned(bool on) { monitor_owned_ = on; }

 protected:
  // Counts a request in flight; the returned callback counts it out and then calls cb.
  Callback track(Callback cb);

  BlockNodeCommon c_;

 private:
  size_t in_flight_ = 0;
  int parents_ = 0;
  int backends_ = 0;
  bool monitor_owned_ = false;
};

using BlockNodePtr = std::shared_ptr<BlockDriverState>;

// Helpers over scatter lists.
uint64_t iov_size(const std::vector<iovec>& iov);
// The list without its first `skip` bytes.
std::vector<iovec> iov_skip(const std::vector<iovec>& iov, uint64_t skip);
// Whether every byte of the list is zero.
bool iov_is_zero(const std::vector<iovec>& iov);
// Zero-fills bytes [from, end) of the list.
void iov_memset_from(const std::vector<iovec>& iov, uint64_t from, int c);

}  // namespace machina
