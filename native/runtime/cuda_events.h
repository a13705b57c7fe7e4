// cuda_events.h - CUDA events for dk_timer: device-side timestamps on a stream.
#pragma once

namespace dk::cudart {

void* event_create();
void event_destroy(void* event);
void event_record(void* event, void* stream);
// Waits for `stop`, then returns the device time between the two events.
double event_elapsed_ms(void* start, void* stop);

}  // namespace dk::cudart
