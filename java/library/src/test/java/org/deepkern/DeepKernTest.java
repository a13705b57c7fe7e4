package org.deepkern;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class DeepKernTest {
    @Test
    void libraryLoadsAndAnswersWithoutAGpu() {
        assertFalse(DeepKern.version().isBlank());
        assertTrue(DeepKern.devices().contains(Device.CPU));
        BackendInfo cuda = DeepKern.backend(Device.Type.CUDA);
        if (!cuda.available()) assertFalse(cuda.reason().isBlank(), "an unavailable backend says why");
        DeviceInfo cpu = DeepKern.deviceInfo(Device.CPU);
        assertTrue(cpu.multiprocessors() >= 1);
        assertTrue(cpu.totalMemory() > 0);
        assertNotNull(DeepKern.defaultDevice());
    }

    @Test
    void unavailableDeviceRaisesWithTheReason() {
        if (DeepKern.backend(Device.Type.CUDA).available()) return;
        DeepKernException e = assertThrows(DeepKernException.class, () -> Tensor.zeros(new long[] {4}, DType.F32, Device.cuda(0)));
        assertEquals(Status.UNAVAILABLE, e.status());
        assertTrue(e.getMessage().contains("cuda"), e.getMessage());
    }

    @Test
    void deviceParsing() {
        assertEquals(Device.CPU, Device.parse("cpu"));
        assertEquals(Device.EMU, Device.parse(" EMU "));
        assertEquals(Device.cuda(0), Device.parse("cuda"));
        assertEquals(Device.cuda(3), Device.parse("cuda:3"));
        assertEquals("cuda:3", Device.cuda(3).toString());
        assertThrows(DeepKernException.class, () -> Device.parse("tpu"));
        assertThrows(DeepKernException.class, () -> Device.parse("cuda:x"));
    }
}
