import { Module } from '@nestjs/common';
import { ReplicaHeartbeat } from './replica-heartbeat.service.js';
import { ThisReplica } from './this-replica.js';

@Module({ providers: [ThisReplica, ReplicaHeartbeat], exports: [ThisReplica, ReplicaHeartbeat] })
export class ReplicasModule {}
