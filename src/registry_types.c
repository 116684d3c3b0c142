/*
 * The registry client's shared vocabulary: the outcome's name.
 */
#include "registry_types.h"

const char *
registry_outcome_name(enum registry_outcome o)
{
	switch (o) {
	case REGISTRY_PRESENT:
		return "present";
	case REGISTRY_ABSENT:
		return "absent";
	case REGISTRY_UNAUTHORIZED:
		return "unauthorized";
	case REGISTRY_RATE_LIMITED:
		return "rate-limited";
	case REGISTRY_UNREACHABLE:
		return "unreachable";
	}
	return "unreachable";
}
