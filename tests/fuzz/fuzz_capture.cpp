// Fuzz target: a capture file of any bytes (classic pcap in either byte order and time
// precision, pcapng, anything else) read to its end, optionally from a resume offset, with
// every frame decoded.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>

#include "v6bl/ingest/capture_reader.h"
#include "v6bl/ingest/syn_decoder.h"

using namespace v6bl::ingest;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    // First byte: where a resumed run would start reading (0: from the start); the rest is
    // the file.
    const std::uint64_t resume = data[0];
    const int fd = ::memfd_create("capture", 0);
    if (fd < 0) return 0;
    if (::write(fd, data + 1, size - 1) != static_cast<ssize_t>(size - 1)) {
        ::close(fd);
        return 0;
    }
    std::string error;
    std::unique_ptr<capture_reader> r =
        capture_reader::open_file("/proc/self/fd/" + std::to_string(fd), resume, error);
    if (r) {
        capture_frame frame;
        for (int i = 0; i < 100000; ++i) {
            const capture_status st = r->next(frame);
            if (st == capture_status::bad_block || st == capture_status::bad_interface) {
                if (r->error_offset() > size) __builtin_trap();
                continue;
            }
            if (st != capture_status::frame) {
                (void)r->error_offset();
                (void)r->last_error();
                break;
            }
            if (r->frame_offset() > size) __builtin_trap();
            syn_record syn;
            (void)decode_syn(frame.link, frame.data, frame.caplen, frame.time_us, 25, syn);
        }
        (void)r->offset();
    }
    r.reset();
    ::close(fd);
    return 0;
}
