// The listing policy applied to a stored record.
#include "v6bl/store/policy.h"

#include <algorithm>

namespace v6bl::store {

bool manual_in_force(const reputation_record& r, const listing_policy& policy, std::uint32_t now) {
    if (r.manual_code == 0) return false;
    const bool expired = policy.manual_expiry_seconds != 0 && r.last_seen != 0 &&
                         std::uint64_t{r.last_seen} + policy.manual_expiry_seconds < now;
    return !expired;
}

std::optional<reason_code> listed_code(const reputation_record& r, const listing_policy& policy,
                                       std::uint32_t now) {
    if (manual_in_force(r, policy, now)) return static_cast<reason_code>(r.manual_code);
    if ((r.reason_bits & (bit_associated | bit_structural)) == 0) return std::nullopt;
    if (r.strength_milli < policy.min_strength_milli) return std::nullopt;
    if (policy.expiry_seconds != 0 && std::uint64_t{r.last_seen} + policy.expiry_seconds < now)
        return std::nullopt;
    return (r.reason_bits & bit_structural) ? reason_code::structural : reason_code::associated;
}

std::uint32_t expiry_time(std::uint32_t last_seen, std::uint32_t seconds) {
    // Summed in 64 bits and held at the last 32-bit second (2106): a long expiry wrapped
    // round to a time in the past, so lookup and serve said expired where list and export,
    // which compare otherwise, published (helper-53).
    if (seconds == 0) return 0;
    return static_cast<std::uint32_t>(
        std::min<std::uint64_t>(std::uint64_t{last_seen} + seconds, 0xFFFFFFFFu));
}

std::uint32_t expires_at(const reputation_record& r, const listing_policy& policy) {
    if (r.manual_code != 0) {
        if (r.last_seen == 0) return 0;
        return expiry_time(r.last_seen, policy.manual_expiry_seconds);
    }
    return expiry_time(r.last_seen, policy.expiry_seconds);
}

}  // namespace v6bl::store
