// The listing policy applied to a stored record.
#include "v6bl/store/policy.h"

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

std::uint32_t expires_at(const reputation_record& r, const listing_policy& policy) {
    if (r.manual_code != 0) {
        if (policy.manual_expiry_seconds == 0 || r.last_seen == 0) return 0;
        return r.last_seen + policy.manual_expiry_seconds;
    }
    if (policy.expiry_seconds == 0) return 0;
    return r.last_seen + policy.expiry_seconds;
}

}  // namespace v6bl::store
