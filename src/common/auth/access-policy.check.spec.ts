import { Controller, Get, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { AccessPolicyCheck } from './access-policy.check';
import { ModelFrom } from './access-policy';
import { ModelScoped, Public, Roles } from './auth.decorators';

async function start(controller: new () => unknown): Promise<void> {
  @Module({ imports: [DiscoveryModule], controllers: [controller], providers: [AccessPolicyCheck] })
  class AppUnderTest {}
  const app = await Test.createTestingModule({ imports: [AppUnderTest] }).compile();
  try {
    await app.init();
  } finally {
    await app.close();
  }
}

describe('AccessPolicyCheck: a route without a declared access policy is a startup error', () => {
  it('starts when every route is public or declares roles and a model source', async () => {
    @Roles('operator')
    @Controller('models/:name')
    class Declared {
      @Get() @ModelScoped(ModelFrom.param('name')) read() {}
      @Get('open') @Public() open() {}
    }
    await expect(start(Declared)).resolves.toBeUndefined();
  });

  it('names the route that lacks @Roles or @ModelScoped', async () => {
    @Controller('things')
    class Undeclared {
      @Get() @Roles('operator') list() {}
      @Get(':id') @ModelScoped(ModelFrom.resource()) get() {}
    }
    await expect(start(Undeclared)).rejects.toThrow(/Undeclared.list has no @ModelScoped; Undeclared.get has no @Roles/);
  });

  it('refuses a model taken from a path parameter the route does not have', async () => {
    @Controller('runs')
    class WrongParam {
      @Get(':id') @Roles('operator') @ModelScoped(ModelFrom.param('name')) get() {}
    }
    await expect(start(WrongParam)).rejects.toThrow(/WrongParam.get takes its model from path parameter :name/);
  });
});
